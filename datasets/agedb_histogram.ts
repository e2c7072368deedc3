/**
 * The shape of AgeDB-DIR's training label histogram, for datasets that imitate its long tail.
 *
 * Counts of the official AgeDB-DIR train split (12,208 images) per integer age 0..101, computed from the
 * split file `agedb-dir/data/agedb.csv` of YyzHarry/imbalanced-regression at commit a6fdc45d (sha256
 * ab9f8d4c…1252). The histogram peaks at 353 (age 35) and has single samples at the extremes.
 *
 * @module
 */

/** Training samples per age, index = age in years (0..101). Sums to 12,208. */
// deno-fmt-ignore
export const AGEDB_DIR_TRAIN_COUNTS: readonly number[] = [
  0, 1, 0, 4, 2, 2, 4, 5, 4, 2, 5, 8, 6, 8, 9, 15, 18, 28, 60, 50, //  0..19
  101, 103, 123, 152, 199, 224, 215, 244, 287, 253, 325, 256, 318, 278, 302, 353, 287, 310, 322, 261, // 20..39
  326, 260, 296, 265, 221, 282, 227, 229, 251, 207, 257, 227, 250, 190, 198, 234, 167, 183, 186, 153, // 40..59
  185, 147, 178, 158, 133, 171, 117, 117, 155, 90, 156, 85, 115, 96, 78, 98, 49, 44, 46, 26, // 60..79
  31, 26, 24, 19, 15, 20, 13, 10, 7, 7, 7, 7, 5, 5, 3, 3, 2, 1, 2, 1, // 80..99
  2, 1, // 100..101
];
