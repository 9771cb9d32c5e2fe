import { describe, expect, it } from "vitest";
import { drain } from "./drain";

describe("drain", () => {
  it("hands every event over in order and resolves with the generator's return value", async () => {
    async function* engine(): AsyncGenerator<number, string> {
      yield 1;
      yield 2;
      return "done";
    }
    const seen: number[] = [];
    await expect(drain(engine(), (n) => void seen.push(n))).resolves.toBe("done");
    expect(seen).toEqual([1, 2]);
  });

  it("waits for an asynchronous handler before asking for the next event", async () => {
    const order: string[] = [];
    async function* engine(): AsyncGenerator<string, void> {
      order.push("yield a");
      yield "a";
      order.push("yield b");
      yield "b";
    }
    await drain(engine(), async (e) => {
      await Promise.resolve();
      order.push(`handled ${e}`);
    });
    expect(order).toEqual(["yield a", "handled a", "yield b", "handled b"]);
  });
});
