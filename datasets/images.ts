/**
 * Image re-encoding for prepared datasets, with sharp: orientation fixed from EXIF, converted to RGB,
 * longest side capped, written as JPEG. Every dataset's images go through this one function.
 *
 * @module
 */

import sharp from "sharp";
import type { ImageSource } from "./adapter.ts";

/** How images are stored in a prepared dataset; recorded in the manifest. */
export interface ImageSettings {
  /** Longest side in pixels after resizing (never enlarged). Default 448. */
  maxSide: number;
  /** JPEG quality (1-100). Default 90. */
  quality: number;
}

/** Defaults of {@linkcode ImageSettings}. */
export const DEFAULT_IMAGE_SETTINGS: ImageSettings = { maxSide: 448, quality: 90 };

// One libvips thread per call: prepare runs several encodes at once, which uses the cores better than
// letting each call spread over all of them, and keeps output independent of the machine's core count.
sharp.concurrency(1);
// The operation cache only helps repeated identical inputs; datasets never repeat.
sharp.cache(false);

/** The encoded image and its size. */
export interface EncodedImage {
  /** JPEG bytes. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * Re-encodes one image: EXIF orientation applied, alpha flattened onto white, sRGB, longest side at most
 * `settings.maxSide`, baseline JPEG. Throws (with sharp's reason) on unreadable or corrupt input.
 */
export async function encodeImage(source: ImageSource, settings: ImageSettings): Promise<EncodedImage> {
  const input = "path" in source
    ? source.path
    : "bytes" in source
    ? source.bytes
    : new TextEncoder().encode(source.svg);
  const { data, info } = await sharp(input, { failOn: "error" })
    .rotate()
    .resize({ width: settings.maxSide, height: settings.maxSide, fit: "inside", withoutEnlargement: true })
    .flatten({ background: "#ffffff" })
    .toColourspace("srgb")
    .jpeg({ quality: settings.quality, mozjpeg: false, chromaSubsampling: "4:2:0" })
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}
