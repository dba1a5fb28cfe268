/**
 * A {@linkcode KernelPool} worker: compiles kt's generated modules against the shared memory and
 * runs the parts of kernel calls it is handed through the control block (see `threads.ts`).
 * @module
 */
const scope = self as unknown as {
  onmessage:
    | ((e: MessageEvent<{ memory: WebAssembly.Memory; control: SharedArrayBuffer }>) => void)
    | null;
  postMessage(m: unknown): void;
};

scope.onmessage = (e) => {
  scope.onmessage = null;
  const { memory, control } = e.data;
  const ctl = new Int32Array(control, 0, 32);
  const bytes = new Uint8Array(control, 32 * 4);
  const modules = new Map<number, Array<(...a: number[]) => void>>();
  scope.postMessage("ready");
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    // Claim the task (the caller may have run it itself meanwhile: then skip it).
    if (Atomics.compareExchange(ctl, 7, seen, -seen) !== seen) {
      Atomics.store(ctl, 1, seen);
      Atomics.notify(ctl, 1);
      continue;
    }
    const op = ctl[2];
    if (op === 3) return;
    try {
      if (op === 1) {
        const exports = new WebAssembly.Instance(
          new WebAssembly.Module(bytes.slice(0, ctl[8])),
          { env: { memory } },
        ).exports;
        modules.set(ctl[3], Object.values(exports) as Array<(...a: number[]) => void>);
      } else {
        const args: number[] = [];
        for (let i = 0; i < ctl[5]; i++) args.push(ctl[8 + i]);
        modules.get(ctl[3])![ctl[4]](...args);
      }
    } catch {
      Atomics.store(ctl, 6, 1);
    }
    Atomics.store(ctl, 1, seen);
    Atomics.notify(ctl, 1);
  }
};
