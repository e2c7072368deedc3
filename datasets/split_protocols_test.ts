import assert from "node:assert/strict";
import { InputError } from "../bench/core/errors.ts";
import { seededRng } from "../bench/core/rng.ts";
import { balancedTestSplit, decodeLatin1, parseCsvTable, peakSparseLabels } from "./split_protocols.ts";

const row = (id: string, label: number) => ({ id, label });
const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

Deno.test("balancedTestSplit: counts per label follow min(fraction(n), cap)", () => {
  const rows = [
    ...Array.from({ length: 7 }, (_, i) => row(`a${i}`, 10)), // ⌊7/3⌋ = 2
    ...Array.from({ length: 2 }, (_, i) => row(`b${i}`, 20)), // ⌊2/3⌋ = 0
    ...Array.from({ length: 100 }, (_, i) => row(`c${String(i).padStart(3, "0")}`, 5)), // min(33, 30) = 30
  ];
  const split = balancedTestSplit(rows, { fraction: (n) => Math.floor(n / 3), cap: 30, seed: 0 });
  assert.deepEqual(split.perLabel, [
    { label: 5, rows: 100, test: 30 },
    { label: 10, rows: 7, test: 2 },
    { label: 20, rows: 2, test: 0 },
  ]);
  assert.equal(split.test.length, 32);
  assert.equal(split.train.length, 77);
  // Labels ascending in both outputs; train ∪ test is the input, disjoint.
  assert.deepEqual(split.test.map((r) => r.label), [...Array(30).fill(5), 10, 10]);
  assert.deepEqual([...ids(split.train), ...ids(split.test)].sort(), ids(rows).sort());
});

Deno.test("balancedTestSplit: the documented shuffle, by hand", () => {
  // One label, ids sorted a,b,c,d; Fisher–Yates from the end with the seed's stream.
  const rng = seededRng(7);
  const expected = ["a", "b", "c", "d"];
  for (let i = 3; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [expected[i], expected[j]] = [expected[j], expected[i]];
  }
  const split = balancedTestSplit([row("c", 1), row("a", 1), row("d", 1), row("b", 1)], {
    fraction: (n) => Math.floor(n / 2),
    cap: 30,
    seed: 7,
  });
  assert.deepEqual(ids(split.test), expected.slice(0, 2));
  assert.deepEqual(ids(split.train), expected.slice(2));
});

Deno.test("balancedTestSplit: one generator is shared across labels in ascending order", () => {
  // Label 1 has two rows (one draw), so label 2's shuffle starts at the stream's second draw.
  const rng = seededRng(3);
  const first = Math.floor(rng() * 2);
  const label1 = first === 0 ? ["y", "x"] : ["x", "y"]; // j = 0 swaps the two
  const label2 = ["p", "q", "r"];
  for (let i = 2; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [label2[i], label2[j]] = [label2[j], label2[i]];
  }
  const split = balancedTestSplit([row("r", 2), row("y", 1), row("p", 2), row("x", 1), row("q", 2)], {
    fraction: () => 1,
    cap: 30,
    seed: 3,
  });
  assert.deepEqual(ids(split.test), [label1[0], label2[0]]);
  assert.deepEqual(ids(split.train), [label1[1], ...label2.slice(1)]);
});

Deno.test("balancedTestSplit: independent of input order, dependent on the seed", () => {
  const rows = Array.from({ length: 60 }, (_, i) => row(`r${i}`, i % 4));
  const opts = { fraction: (n: number) => Math.floor(n / 2), cap: 5, seed: 11 };
  const a = balancedTestSplit(rows, opts);
  const b = balancedTestSplit([...rows].reverse(), opts);
  assert.deepEqual(a, b);
  const c = balancedTestSplit(rows, { ...opts, seed: 12 });
  assert.notDeepEqual(ids(a.test), ids(c.test));
  assert.equal(c.test.length, 20);
});

Deno.test("balancedTestSplit: rejects duplicate ids, bad labels, caps and fractions", () => {
  const f = { fraction: (n: number) => Math.floor(n / 2), cap: 30, seed: 0 };
  assert.throws(() => balancedTestSplit([row("a", 1), row("a", 2)], f), /duplicate id "a"/);
  assert.throws(() => balancedTestSplit([row("a", NaN)], f), /non-finite label/);
  assert.throws(() => balancedTestSplit([row("a", 1)], { ...f, cap: -1 }), /cap/);
  assert.throws(() => balancedTestSplit([row("a", 1)], { ...f, fraction: (n) => n / 2 }), /fraction\(1\)/);
  assert.throws(() => balancedTestSplit([row("a", 1)], { ...f, fraction: (n) => n + 1 }), /fraction\(1\)/);
  assert.deepEqual(balancedTestSplit([], f), { train: [], test: [], perLabel: [] });
  const all = balancedTestSplit([row("a", 1), row("b", 1)], { ...f, fraction: (n) => n, cap: Infinity });
  assert.equal(all.test.length, 2);
});

Deno.test("peakSparseLabels: the peak region and its sparse labels, by hand", () => {
  // counts: label 0:1, 1:0, 2:10, 3:2, 4:10, 5:1 ; window 2 → density over [a−1, a+1].
  const labels = [0, 2, ...Array(9).fill(2), 3, 3, ...Array(10).fill(4), 5];
  // densities: 0:1, 1:11, 2:12, 3:22, 4:13, 5:11 ; max 22, ratio 0.5 → ≥ 11 → peak [1, 5].
  const r = peakSparseLabels(labels, { window: 2, ratio: 0.5, threshold: 2 });
  assert.deepEqual(r.peak, [1, 5]);
  // In [1, 5]: label 1 has 0 rows (removes nothing), 3 has 2, 5 has 1; label 0 is outside the peak.
  assert.deepEqual(r.sparse, [3, 5]);
  assert.equal(r.removed, 3);
  assert.deepEqual(peakSparseLabels([], { window: 10, ratio: 0.25, threshold: 100 }), {
    peak: null,
    sparse: [],
    removed: 0,
  });
  assert.throws(() => peakSparseLabels([1.5], { window: 10, ratio: 0.25, threshold: 100 }), /integer/);
});

Deno.test("decodeLatin1 maps every byte to the code point of the same value", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = decodeLatin1(bytes);
  assert.equal(text.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(text.charCodeAt(i), i);
  // 0x80 stays U+0080 (windows-1252 would give €); "LenlÌ¬vement"-style mojibake survives as-is.
  assert.equal(decodeLatin1(Uint8Array.of(0x4c, 0xcc, 0xac)), "L\u00cc\u00ac");
  assert.equal(decodeLatin1(new Uint8Array(100_000).fill(0x41)).length, 100_000);
});

Deno.test("parseCsvTable: quotes, commas, line breaks, BOM, mixed line ends and start lines", () => {
  const text =
    '\ufeffid,Title,score\r\n1,"Toy Story, The (1995)",8.3\n\n2,"Two\nlines",7\r3,x"y,5\n4,"say ""hi""",6\n';
  const t = parseCsvTable(text, "m.csv", ["id", "score"]);
  assert.deepEqual(t.header, ["id", "Title", "score"]);
  assert.deepEqual(t.rows, [
    { line: 2, values: { id: "1", Title: "Toy Story, The (1995)", score: "8.3" } },
    { line: 4, values: { id: "2", Title: "Two\nlines", score: "7" } },
    { line: 6, values: { id: "3", Title: 'x"y', score: "5" } },
    { line: 7, values: { id: "4", Title: 'say "hi"', score: "6" } },
  ]);
});

Deno.test("parseCsvTable: malformed input is an InputError with file and line", () => {
  const fails = (text: string, re: RegExp, required: string[] = []) =>
    assert.throws(
      () => parseCsvTable(text, "f.csv", required),
      (e) => e instanceof InputError && re.test(e.message),
    );
  fails("a,b\n1,2\n3\n", /^f\.csv:3: expected 2 fields as in the header, got 1/);
  fails('a,b\n1,2\n3,"open\n4,5\n', /^f\.csv:\d+: malformed CSV: .*[Qq]uote/);
  fails("a,b\n1,2\n", /^f\.csv:1: missing column "c" \(header: a,b\)/, ["c"]);
  fails("", /^f\.csv: empty CSV file/);
});
