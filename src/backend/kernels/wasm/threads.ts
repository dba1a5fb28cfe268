/**
 * Both cores for one training run: tfjs-wasm's (single-threaded, SIMD) module is loaded on a
 * SHARED `WebAssembly.Memory` — its binary is patched at load time to import the memory instead
 * of defining it — so kt's generated kernels can run on the same tensors from worker threads.
 * {@linkcode KernelPool} splits a kernel call into parts (e.g. halves of the batch) and runs
 * them at once: part 0 on the calling thread, the others on workers woken through `Atomics`.
 * @module
 */
import { KtError } from "../../../errors.ts";
import { ulebBytes } from "./encode.ts";

function readUleb(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = b[p++];
    v += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [v, p];
}

/** Pages a shared memory may grow to (4 GiB, the wasm32 limit). */
const MAX_PAGES = 65536;

/**
 * `bytes` with its defined memory replaced by an import of a shared memory (`env.memory`,
 * `initial` pages as the module asked, max 4 GiB); the memory's export keeps working. Returns
 * the patched bytes and the initial page count. Throws if the module has no memory section.
 */
export function importSharedMemory(
  bytes: Uint8Array,
): { bytes: Uint8Array<ArrayBuffer>; pages: number } {
  const sections: Array<[number, Uint8Array]> = [];
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p++];
    const [size, q] = readUleb(bytes, p);
    sections.push([id, bytes.subarray(q, q + size)]);
    p = q + size;
  }
  const memory = sections.find(([id]) => id === 5);
  if (!memory) throw new Error("the wasm module defines no memory");
  const [count, q] = readUleb(memory[1], 0);
  if (count !== 1) throw new Error(`the wasm module defines ${count} memories`);
  const [pages] = readUleb(memory[1], q + 1);
  const entry = [
    ...ulebBytes(3),
    ...new TextEncoder().encode("env"),
    ...ulebBytes(6),
    ...new TextEncoder().encode("memory"),
    0x02,
    0x03, // shared, with a maximum
    ...ulebBytes(pages),
    ...ulebBytes(MAX_PAGES),
  ];
  const out: number[] = [...bytes.subarray(0, 8)];
  let imported = false;
  const emit = (id: number, body: ArrayLike<number>) => {
    out.push(id, ...ulebBytes(body.length));
    for (let i = 0; i < body.length; i++) out.push(body[i]);
  };
  for (const [id, payload] of sections) {
    if (id === 5) continue;
    if (id === 2) {
      const [n, r] = readUleb(payload, 0);
      emit(2, [...ulebBytes(n + 1), ...payload.subarray(r), ...entry]);
      imported = true;
      continue;
    }
    // A module without imports gets an import section before its function section.
    if (!imported && id > 2 && id !== 0) {
      emit(2, [...ulebBytes(1), ...entry]);
      imported = true;
    }
    emit(id, payload);
  }
  return { bytes: new Uint8Array(out), pages };
}

let sharedMemory: WebAssembly.Memory | undefined;

/** The shared memory tfjs-wasm runs on, once {@linkcode loadOnSharedMemory} loaded it so. */
export function wasmSharedMemory(): WebAssembly.Memory | undefined {
  return sharedMemory;
}

/**
 * Runs `init` (which must initialise the tfjs wasm backend) with `WebAssembly.instantiate`
 * hooked so that the module it compiles imports a shared memory. Returns that memory.
 */
export async function loadOnSharedMemory(init: () => Promise<void>): Promise<WebAssembly.Memory> {
  if (typeof SharedArrayBuffer === "undefined") {
    throw new KtError("threads need SharedArrayBuffer, which this runtime lacks", {
      hint: "run with threads: 1",
    });
  }
  const original = WebAssembly.instantiate;
  let memory: WebAssembly.Memory | undefined;
  const hooked = (source: unknown, imports?: WebAssembly.Imports) => {
    if (!memory && imports && (source instanceof Uint8Array || source instanceof ArrayBuffer)) {
      const patched = importSharedMemory(
        source instanceof Uint8Array ? source : new Uint8Array(source),
      );
      memory = new WebAssembly.Memory({
        initial: patched.pages,
        maximum: MAX_PAGES,
        shared: true,
      });
      const env = { ...(imports.env as Record<string, unknown>), memory };
      return original(patched.bytes, { ...imports, env } as WebAssembly.Imports);
    }
    return original(source as BufferSource, imports);
  };
  (WebAssembly as { instantiate: unknown }).instantiate = hooked;
  try {
    await init();
  } finally {
    (WebAssembly as { instantiate: unknown }).instantiate = original;
  }
  if (!memory) throw new Error("the wasm backend did not load through WebAssembly.instantiate");
  sharedMemory = memory;
  return memory;
}

// Control block (Int32 slots) shared with each worker.
const GEN = 0; // task generation, bumped by the caller
const DONE = 1; // generation the worker finished
const OP = 2; // 1: load module, 2: call, 3: exit
const MODULE = 3; // module id
const FN = 4; // export index
const NARGS = 5;
const ERROR = 6; // 1 when the worker's task threw
const CLAIM = 7; // the generation still unclaimed; a claimer swaps it for its negative
const ARGS = 8; // up to 16 i32 arguments
const BYTES = 32 * 4; // byte offset of the module bytes area
const CONTROL_BYTES = 4 << 20; // 4 MiB: room for any generated module

interface WorkerSlot {
  worker: Worker;
  ctl: Int32Array;
  bytes: Uint8Array;
  loaded: Set<number>;
  gen: number;
}

/**
 * Runs parts of kernel calls on `threads` threads (the caller's and `threads − 1` workers) over
 * one shared memory. Calls are synchronous for the caller.
 */
export class KernelPool {
  readonly threads: number;
  readonly #memory: WebAssembly.Memory;
  readonly #slots: WorkerSlot[];
  readonly #ids = new Map<string, number>();
  readonly #local = new Map<number, WebAssembly.Exports>();
  /** Export names per module, in the order workers index them. */
  readonly #names = new Map<number, string[]>();
  readonly #bytes = new Map<number, Uint8Array>();

  private constructor(memory: WebAssembly.Memory, slots: WorkerSlot[]) {
    this.#memory = memory;
    this.#slots = slots;
    this.threads = slots.length + 1;
  }

  /** A pool of `threads` threads over `memory` (workers started and ready when it resolves). */
  static async create(memory: WebAssembly.Memory, threads: number): Promise<KernelPool> {
    const slots: WorkerSlot[] = [];
    for (let t = 1; t < threads; t++) {
      const control = new SharedArrayBuffer(CONTROL_BYTES);
      const worker = new Worker(new URL("./pool_worker.ts", import.meta.url).href, {
        type: "module",
      });
      await new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`kernel worker failed to start: ${e.message}`));
        };
        worker.postMessage({ memory, control });
      });
      slots.push({
        worker,
        ctl: new Int32Array(control, 0, 32),
        bytes: new Uint8Array(control, BYTES),
        loaded: new Set(),
        gen: 0,
      });
    }
    return new KernelPool(memory, slots);
  }

  /** The id of module `key` (built by `build` the first time), compiled here and in workers. */
  module(key: string, build: () => Uint8Array<ArrayBuffer>): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#ids.size;
      const bytes = build();
      if (bytes.length > CONTROL_BYTES - BYTES) throw new Error(`kernel module ${key} too large`);
      this.#local.set(
        id,
        new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.#memory } })
          .exports,
      );
      this.#names.set(id, Object.keys(this.#local.get(id)!));
      this.#bytes.set(id, bytes);
      this.#ids.set(key, id);
    }
    return id;
  }

  /** The caller-thread exports of module `id`. */
  exports(id: number): WebAssembly.Exports {
    return this.#local.get(id)!;
  }

  /**
   * Calls export `fn` of module `id` once per entry of `parts` (each its i32 arguments): part
   * k runs on thread k mod threads, the caller's parts in order; returns when all are done.
   */
  run(id: number, fn: string, parts: number[][]): void {
    const local = this.#local.get(id)![fn] as (...a: number[]) => void;
    const fnIndex = this.#names.get(id)!.indexOf(fn);
    const posted: Array<[WorkerSlot, number[]]> = [];
    for (let k = 0; k < parts.length; k++) {
      const t = k % this.threads;
      if (t === 0) continue;
      const slot = this.#slots[t - 1];
      if (!slot.loaded.has(id)) this.#load(slot, id);
      // One part per worker at a time: finish the worker's previous part first.
      const previous = posted.findIndex(([p]) => p === slot);
      if (previous >= 0) this.#finish(...posted.splice(previous, 1)[0], local);
      this.#call(slot, 2, id, fnIndex, parts[k]);
      posted.push([slot, parts[k]]);
    }
    for (let k = 0; k < parts.length; k += this.threads) local(...parts[k]);
    for (const [slot, args] of posted) this.#finish(slot, args, local);
  }

  /**
   * Waits for the part posted to `slot`, or runs it here when the worker has not claimed it yet
   * (a worker the OS has not scheduled must not stall the step).
   */
  #finish(slot: WorkerSlot, args: number[], local: (...a: number[]) => void): void {
    if (Atomics.compareExchange(slot.ctl, CLAIM, slot.gen, -slot.gen) === slot.gen) {
      local(...args);
      return;
    }
    this.#wait(slot);
  }

  #load(slot: WorkerSlot, id: number): void {
    const bytes = this.#bytes.get(id)!;
    slot.bytes.set(bytes);
    this.#call(slot, 1, id, 0, [bytes.length]);
    this.#wait(slot);
    slot.loaded.add(id);
  }

  #call(slot: WorkerSlot, op: number, id: number, fnIndex: number, args: number[]): void {
    const c = slot.ctl;
    c[OP] = op;
    c[MODULE] = id;
    c[FN] = fnIndex;
    c[NARGS] = args.length;
    for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i];
    slot.gen++;
    Atomics.store(c, CLAIM, slot.gen);
    Atomics.store(c, GEN, slot.gen);
    Atomics.notify(c, GEN);
  }

  #wait(slot: WorkerSlot): void {
    const c = slot.ctl;
    // Spin briefly (most parts finish within a few ms of each other), then sleep.
    for (let spin = 0; spin < 2000 && Atomics.load(c, DONE) !== slot.gen; spin++);
    for (;;) {
      // Wait on the value just read: if the worker stores DONE between a check and a separate
      // read, waiting on the new value would sleep until the timeout.
      const done = Atomics.load(c, DONE);
      if (done === slot.gen) break;
      Atomics.wait(c, DONE, done, 1000);
    }
    if (Atomics.load(c, ERROR)) {
      Atomics.store(c, ERROR, 0);
      throw new Error("a kernel part failed on a worker thread");
    }
  }

  /** Stops the workers. */
  close(): void {
    for (const slot of this.#slots) {
      this.#call(slot, 3, 0, 0, []);
      slot.worker.terminate();
    }
  }
}
