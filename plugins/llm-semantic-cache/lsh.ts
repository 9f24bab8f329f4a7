/**
 * Random-hyperplane LSH for cosine similarity: each table has `bits` hyperplanes; a vector's bucket in a table is the
 * side of each plane it lies on. Two vectors at angle θ share a table's bucket with probability (1 − θ/π)^bits, so
 * near-duplicates meet in at least one of the tables while unrelated vectors rarely do. The planes come from a fixed
 * seed: every Kong node computes the same buckets.
 */
export class HyperplaneLsh {
  private readonly planes: Float32Array[][];

  constructor(
    readonly dimensions: number,
    readonly tables: number,
    readonly bits: number,
    seed = 0x5eed_cafe,
  ) {
    const random = gaussian(mulberry32(seed ^ (dimensions * 2654435761) ^ (tables << 8) ^ bits));
    this.planes = Array.from({ length: tables }, () =>
      Array.from({ length: bits }, () => Float32Array.from({ length: dimensions }, random)),
    );
  }

  /** One bucket id per table (the bits as a base-36 number). */
  buckets(vector: Float32Array): string[] {
    return this.planes.map((table) => {
      let code = 0;
      for (let b = 0; b < table.length; b++) {
        const plane = table[b];
        let s = 0;
        for (let i = 0; i < plane.length; i++) s += plane[i] * (vector[i] ?? 0);
        if (s >= 0) code |= 1 << b;
      }
      return (code >>> 0).toString(36);
    });
  }
}

/** Deterministic uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller): hyperplane normals uniform on the sphere. */
function gaussian(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), Number.EPSILON);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}
