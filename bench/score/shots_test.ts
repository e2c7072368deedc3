import assert from "node:assert/strict";
import { binBounds, binCount, binIndex, buildShotTable, regionOf, regionOfCount } from "./shots.ts";

const DEFAULT = { manyAbove: 100, fewBelow: 20 };

Deno.test("regionOfCount: the boundaries at exactly 20 and 100 are medium", () => {
  assert.equal(regionOfCount(0, DEFAULT), "few");
  assert.equal(regionOfCount(19, DEFAULT), "few");
  assert.equal(regionOfCount(20, DEFAULT), "medium");
  assert.equal(regionOfCount(100, DEFAULT), "medium");
  assert.equal(regionOfCount(101, DEFAULT), "many");
});

Deno.test("regionOfCount honours custom thresholds", () => {
  const shots = { manyAbove: 10, fewBelow: 3 };
  assert.equal(regionOfCount(2, shots), "few");
  assert.equal(regionOfCount(3, shots), "medium");
  assert.equal(regionOfCount(10, shots), "medium");
  assert.equal(regionOfCount(11, shots), "many");
});

Deno.test("binIndex is floor((label - min) / binWidth), exact at fractional bin edges", () => {
  assert.equal(binIndex(0, { min: 0, binWidth: 1 }), 0);
  assert.equal(binIndex(37, { min: 0, binWidth: 1 }), 37);
  assert.equal(binIndex(37.9, { min: 0, binWidth: 1 }), 37);
  assert.equal(binIndex(5, { min: 1, binWidth: 2 }), 2);
  assert.equal(binIndex(4.99, { min: 1, binWidth: 2 }), 1);
  // (0.3 - 0) / 0.1 is 2.9999999999999996 in float64; the label names bin 3.
  assert.equal(binIndex(0.3, { min: 0, binWidth: 0.1 }), 3);
  assert.equal(binIndex(-3, { min: -5, binWidth: 1 }), 2);
  assert.equal(binCount({ min: 0, max: 100, binWidth: 1 }), 101);
  assert.equal(binCount({ min: 0, max: 228, binWidth: 12 }), 20);
  assert.deepEqual(binBounds(3, { min: 10, binWidth: 5 }), [25, 30]);
});

Deno.test("buildShotTable counts training labels per bin; absent bins are few", () => {
  const train = [
    ...Array(101).fill(10),
    ...Array(100).fill(11),
    ...Array(20).fill(12),
    ...Array(19).fill(13),
  ];
  const table = buildShotTable(train, { min: 0, max: 20, unit: "u", binWidth: 1 }, DEFAULT);
  assert.equal(table.trainCounts.length, 21);
  assert.equal(table.trainCounts[10], 101);
  assert.equal(table.trainCounts[14], 0);
  assert.equal(regionOf(10, table), "many");
  assert.equal(regionOf(11, table), "medium");
  assert.equal(regionOf(12, table), "medium");
  assert.equal(regionOf(13, table), "few");
  assert.equal(regionOf(14, table), "few");
  assert.equal(regionOf(10.7, table), "many"); // a non-integer label takes its bin's region
});

Deno.test("buildShotTable with wide bins pools neighbouring labels", () => {
  // 60 + 50 labels fall in bin [10, 20): 110 > 100, so many, though neither label alone is.
  const train = [...Array(60).fill(10), ...Array(50).fill(19), ...Array(25).fill(20)];
  const table = buildShotTable(train, { min: 0, max: 40, unit: "u", binWidth: 10 }, DEFAULT);
  assert.deepEqual(table.trainCounts, [0, 110, 25, 0, 0]);
  assert.equal(regionOf(15, table), "many");
  assert.equal(regionOf(29, table), "medium");
  assert.equal(regionOf(5, table), "few");
});
