/**
 * A small WebAssembly encoder for kt's generated kernels: one module per kernel shape, importing
 * the wasm backend's own memory (`env.memory`), so a kernel reads and writes tensors in place.
 * Functions are written with {@linkcode FunctionBuilder}, whose methods append instructions
 * (stack machine order) and give structured loops.
 * @module
 */

/** WebAssembly value types used here. */
export type ValType = "i32" | "f32" | "f64" | "v128";

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(v: number, out: number[]): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/** `v` as unsigned LEB128 bytes. */
export function ulebBytes(v: number): number[] {
  const out: number[] = [];
  uleb(v, out);
  return out;
}

/** Lanes 2, 3 of a vector moved to lanes 0, 1 (bytes 8–15 → 0–7), for an i8x16 shuffle. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

function sleb(v: number, out: number[]): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

function section(id: number, body: number[], out: number[]): void {
  out.push(id);
  uleb(body.length, out);
  for (const b of body) out.push(b);
}

/** A local variable (or parameter) index with its type. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/**
 * Builds one function body. Methods push instructions; operands come from the stack, so
 * `f.get(a); f.get(b); f.i32Add()` computes a + b.
 */
export class FunctionBuilder {
  readonly params: Local[];
  readonly #locals: ValType[] = [];
  readonly code: number[] = [];

  constructor(params: ValType[]) {
    this.params = params.map((type, index) => ({ index, type }));
  }

  /** A new local of `type`. */
  local(type: ValType): Local {
    this.#locals.push(type);
    return { index: this.params.length + this.#locals.length - 1, type };
  }

  /** Appends raw opcode bytes. */
  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  get(l: Local): this {
    this.code.push(0x20);
    uleb(l.index, this.code);
    return this;
  }

  set(l: Local): this {
    this.code.push(0x21);
    uleb(l.index, this.code);
    return this;
  }

  tee(l: Local): this {
    this.code.push(0x22);
    uleb(l.index, this.code);
    return this;
  }

  i32(v: number): this {
    this.code.push(0x41);
    sleb(v, this.code);
    return this;
  }

  f32(v: number): this {
    this.code.push(0x43);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.code.push(...b);
    return this;
  }

  /** Sets local `l` to the constant `v`. */
  setI32(l: Local, v: number): this {
    return this.i32(v).set(l);
  }

  /** l += v (i32). */
  addTo(l: Local, v: number): this {
    if (v === 0) return this;
    return this.get(l).i32(v).i32Add().set(l);
  }

  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  select(): this {
    return this.op(0x1b);
  }

  #memarg(align: number, offset: number): this {
    uleb(align, this.code);
    uleb(offset, this.code);
    return this;
  }

  /** f32.load at [address + offset] (address on the stack). */
  /** memory.copy (stack: dst src n). */
  memoryCopy(): this {
    return this.op(0xfc, 0x0a, 0x00, 0x00);
  }
  /** memory.fill (stack: dst byte n). */
  memoryFill(): this {
    return this.op(0xfc, 0x0b, 0x00);
  }
  f32Load(offset = 0): this {
    return this.op(0x2a).#memarg(2, offset);
  }
  f32Store(offset = 0): this {
    return this.op(0x38).#memarg(2, offset);
  }
  /** f64.store at [address + offset] (stack: address value). */
  f64Store(offset = 0): this {
    return this.op(0x39).#memarg(3, offset);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Gt(): this {
    return this.op(0x5e);
  }

  #simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    return this;
  }

  v128Load(offset = 0): this {
    return this.#simd(0x00).#memarg(4, offset);
  }
  v128Store(offset = 0): this {
    return this.#simd(0x0b).#memarg(4, offset);
  }
  /** Loads one f32 and splats it to all four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.#simd(0x09).#memarg(2, offset);
  }
  /** A v128 constant of four f32 lanes. */
  f32x4Const(lanes: [number, number, number, number]): this {
    this.#simd(0x0c);
    this.code.push(...new Uint8Array(new Float32Array(lanes).buffer));
    return this;
  }
  v128Zero(): this {
    this.#simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }
  f64(v: number): this {
    this.code.push(0x44);
    this.code.push(...new Uint8Array(new Float64Array([v]).buffer));
    return this;
  }
  f64Div(): this {
    return this.op(0xa3);
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Sub(): this {
    return this.op(0xa1);
  }
  f64Max(): this {
    return this.op(0xa5);
  }
  /** i32 → f64 (unsigned). */
  f64ConvertI32U(): this {
    return this.op(0xb8);
  }
  /** f32.demote_f64. */
  f32DemoteF64(): this {
    return this.op(0xb6);
  }
  /** i8x16.shuffle of two vectors by 16 lane indices (0–31). */
  i8x16Shuffle(lanes: number[]): this {
    return this.#simd(0x0d).op(...lanes);
  }
  /** The two high f32 lanes of local `v` widened to f64 (pushed). */
  f64x2PromoteHighOf(v: Local): this {
    return this.get(v).get(v).i8x16Shuffle(HIGH_HALF).f64x2PromoteLowF32x4();
  }
  /** The two low f32 lanes widened to f64. */
  f64x2PromoteLowF32x4(): this {
    return this.#simd(0x5f);
  }
  f64x2Add(): this {
    return this.#simd(0xf0);
  }
  f64x2Mul(): this {
    return this.#simd(0xf2);
  }
  f32x4Sub(): this {
    return this.#simd(0xe5);
  }
  f64x2ExtractLane(lane: number): this {
    return this.#simd(0x21).op(lane);
  }
  f32x4Splat(): this {
    return this.#simd(0x13);
  }
  f32x4Add(): this {
    return this.#simd(0xe4);
  }
  f32x4Mul(): this {
    return this.#simd(0xe6);
  }
  /** a·b + c (stack: a b c), relaxed SIMD: fused or not, as the CPU does it. */
  f32x4RelaxedMadd(): this {
    return this.#simd(0x105);
  }
  /** f32x4.max: lanewise maximum; NaN where either lane is NaN. */
  f32x4Max(): this {
    return this.#simd(0xe9);
  }
  f32x4Div(): this {
    return this.#simd(0xe7);
  }
  f32x4Sqrt(): this {
    return this.#simd(0xe3);
  }
  f32x4Lt(): this {
    return this.#simd(0x43);
  }
  f32x4Ne(): this {
    return this.#simd(0x42);
  }
  f32x4Gt(): this {
    return this.#simd(0x44);
  }
  f32x4Ge(): this {
    return this.#simd(0x46);
  }
  f32x4ExtractLane(lane: number): this {
    return this.#simd(0x1f).op(lane);
  }
  v128And(): this {
    return this.#simd(0x4e);
  }
  v128AndNot(): this {
    return this.#simd(0x4f);
  }
  v128Or(): this {
    return this.#simd(0x50);
  }
  v128Not(): this {
    return this.#simd(0x4d);
  }
  /** (a & mask) | (b & ~mask), stack: a b mask. */
  v128Bitselect(): this {
    return this.#simd(0x52);
  }

  /**
   * `for (l = from; l < to; l += step) body()` with i32 bounds: numbers are constants, locals are
   * read each time. Nothing runs when from ≥ to.
   */
  forRange(
    l: Local,
    from: number | Local,
    to: number | Local,
    step: number,
    body: () => void,
  ): this {
    const push = (v: number | Local) => (typeof v === "number" ? this.i32(v) : this.get(v));
    push(from).set(l);
    this.op(0x02, 0x40); // block
    push(l);
    push(to);
    this.i32LtS().i32Eqz().op(0x0d, 0); // br_if 0 (exit) when !(l < to)
    this.op(0x03, 0x40); // loop
    body();
    this.addTo(l, step);
    push(l);
    push(to);
    this.i32LtS().op(0x0d, 0); // br_if 0 (continue)
    this.op(0x0b, 0x0b); // end loop, end block
    return this;
  }

  /** The encoded body: locals then code then `end`. */
  encode(): number[] {
    const out: number[] = [];
    // Run-length encoded locals.
    const groups: Array<[number, ValType]> = [];
    for (const t of this.#locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, out);
    for (const [count, t] of groups) {
      uleb(count, out);
      out.push(VALTYPE[t]);
    }
    for (const b of this.code) out.push(b);
    out.push(0x0b);
    return out;
  }
}

/** A function to put in a module: its exported name, builder and result types. */
export interface FunctionDef {
  name: string;
  fn: FunctionBuilder;
  results?: ValType[];
}

/** Whether modules encoded now import a shared memory (set by `runtime.ts` while it builds). */
export let sharedMemoryImports = false;

/** Sets {@linkcode sharedMemoryImports}. */
export function setSharedMemoryImports(shared: boolean): void {
  sharedMemoryImports = shared;
}

/**
 * Encodes a module that imports `env.memory` (a non-shared memory) and exports `functions`.
 */
export function encodeModule(
  functions: FunctionDef[],
  memory: { shared?: boolean } = { shared: sharedMemoryImports },
): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(functions.length, types);
  for (const { fn, results = [] } of functions) {
    types.push(0x60);
    uleb(fn.params.length, types);
    for (const p of fn.params) types.push(VALTYPE[p.type]);
    uleb(results.length, types);
    for (const r of results) types.push(VALTYPE[r]);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name("env", imports);
  name("memory", imports);
  if (memory.shared) {
    imports.push(0x02, 0x03, 0x00); // shared memory, limits: min 0, max 65536 pages (4 GiB)
    uleb(65536, imports);
  } else {
    imports.push(0x02, 0x00, 0x00); // memory, limits: min 0, no max
  }
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(functions.length, funcs);
  functions.forEach((_, i) => uleb(i, funcs));
  section(3, funcs, out);
  const exports: number[] = [];
  uleb(functions.length, exports);
  functions.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  section(7, exports, out);
  const code: number[] = [];
  uleb(functions.length, code);
  for (const { fn } of functions) {
    const body = fn.encode();
    uleb(body.length, code);
    for (const b of body) code.push(b);
  }
  section(10, code, out);
  return new Uint8Array(out);
}
