// Loads the RFC 8785 vectors shipped in test/vectors/jcs/ (see its README.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(import.meta.dirname, '..', 'vectors', 'jcs');

export interface ValidVector { name: string; source: string; input: string; canonical: string; canonicalHex: string }
export interface NumberVector { ieee754: string; canonical: string | null; source: string }
export interface InvalidVector {
  name: string;
  reason: string;
  input?: string;
  inputHex?: string;
  nest?: { open: string; close: string; depth: number; inner?: string };
}

function load<T>(file: string): T {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8')) as T;
}

export const validVectors = (): ValidVector[] => load<{ vectors: ValidVector[] }>('valid.json').vectors;
export const numberVectors = (): NumberVector[] => load<{ vectors: NumberVector[] }>('numbers.json').vectors;
export const invalidVectors = (): InvalidVector[] => load<{ vectors: InvalidVector[] }>('invalid.json').vectors;

/** The bytes or text an invalid vector stands for. */
export function invalidInput(v: InvalidVector): string | Buffer {
  if (v.inputHex !== undefined) return Buffer.from(v.inputHex, 'hex');
  if (v.nest) return v.nest.open.repeat(v.nest.depth) + (v.nest.inner ?? '') + v.nest.close.repeat(v.nest.depth);
  return v.input as string;
}

export function doubleOf(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}
