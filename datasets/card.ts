/**
 * The dataset card (`card.md`) and the label histograms of a prepared dataset: what it is, where it came
 * from, how the split was made, what was dropped, and how many bins and samples each shot region holds.
 *
 * @module
 */

import { labelHistogramSvg } from "../bench/score/plots/mod.ts";
import { binBounds, binIndex, regionOfCount, type ShotTable } from "../bench/score/shots.ts";
import type { DroppedSample } from "./adapter.ts";
import type { DatasetManifest, Sample } from "./format.ts";
import type { RegionCounts } from "./prepare.ts";

/** The train and test label histograms (SVG), regions shaded from the training counts. */
export function histogramFigures(
  manifest: DatasetManifest,
  train: readonly Sample[],
  test: readonly Sample[],
  table: ShotTable,
): { train: string; test: string } {
  const figure = (split: "train" | "test", samples: readonly Sample[]) => {
    const counts = new Array<number>(table.trainCounts.length).fill(0);
    for (const s of samples) {
      counts[Math.min(counts.length - 1, Math.max(0, binIndex(s.label, table.label)))]++;
    }
    return labelHistogramSvg({
      title: `${manifest.id}: ${split} labels (${samples.length.toLocaleString("en-US")} samples)`,
      unit: manifest.label.unit,
      bins: counts.map((count, bin) => {
        const [lo, hi] = binBounds(bin, table.label);
        return { lo, hi, count, region: regionOfCount(table.trainCounts[bin], table.shots) };
      }),
      thresholds: split === "train" ? table.shots : undefined,
    });
  };
  return { train: figure("train", train), test: figure("test", test) };
}

const n = (x: number) => x.toLocaleString("en-US");

/** The markdown card of a prepared dataset. */
export function datasetCard(
  manifest: DatasetManifest,
  protocol: readonly string[],
  dropped: readonly DroppedSample[],
): string {
  const regions = manifest.regions as { train: RegionCounts; test: RegionCounts };
  const images = manifest.images as { maxSide: number; quality: number };
  const inputs = (manifest.inputs ?? []) as { name: string; sha256?: string; gitBlobSha1?: string }[];
  const reasons = new Map<string, number>();
  for (const d of dropped) {
    const key = `${d.split ?? "?"}: ${d.reason}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const lines = [
    `# ${manifest.title ?? manifest.id} (\`${manifest.id}\`)`,
    "",
    `Prepared by dirbench ${manifest.dirbench ?? ""} in format \`${manifest.format}\`.`,
    "",
    "| | |",
    "| --- | --- |",
    `| source | ${manifest.source ?? "?"} |`,
    `| licence | ${manifest.licence ?? "?"} |`,
    `| train / test | ${n(manifest.splits.train.count)} / ${n(manifest.splits.test.count)} |`,
    `| label | ${manifest.label.min}–${manifest.label.max} ${manifest.label.unit}, bin width ${manifest.label.binWidth} |`,
    `| shot regions | many: > ${manifest.shots.manyAbove} training samples per bin; few: < ${manifest.shots.fewBelow}; medium otherwise |`,
    `| seed | ${manifest.seed ?? "–"} |`,
    `| images | JPEG q${images.quality}, longest side ≤ ${images.maxSide} px, EXIF orientation applied, RGB |`,
    `| dropped | ${n(dropped.length)} (listed in \`dropped.json\`) |`,
    "",
    "## Prompt",
    "",
    "```text",
    manifest.prompt,
    "```",
    "",
    "## Shot regions",
    "",
    "Regions come from the training count of each label bin; the table counts the bins that hold samples of",
    "each split, and those samples.",
    "",
    "| region | train bins | train samples | test bins | test samples |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...(["many", "medium", "few"] as const).map((r) =>
      `| ${r} | ${n(regions.train.bins[r])} | ${n(regions.train.samples[r])} | ${n(regions.test.bins[r])} | ${
        n(regions.test.samples[r])
      } |`
    ),
    "",
    "![training label histogram](train-histogram.svg)",
    "",
    "![test label histogram](test-histogram.svg)",
    "",
    "## How the split was made",
    "",
    ...protocol.map((p) => `- ${p}`),
    "",
  ];
  if (reasons.size > 0) {
    lines.push("## Dropped samples", "", "| split: reason | count |", "| --- | ---: |");
    for (const [reason, count] of [...reasons].sort((a, b) => b[1] - a[1])) {
      lines.push(`| ${reason.replaceAll("|", "\\|")} | ${n(count)} |`);
    }
    lines.push("");
  }
  if (inputs.length > 0) {
    lines.push("## Inputs", "", "| file | hash |", "| --- | --- |");
    for (const i of inputs) {
      lines.push(
        `| ${i.name} | ${
          i.sha256 ? `sha256 ${i.sha256}` : i.gitBlobSha1 ? `git blob ${i.gitBlobSha1}` : "–"
        } |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}
