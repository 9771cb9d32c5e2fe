import { describe, expect, it } from "vitest";
import { abortedChunk, GeminiEventLog } from "./gemini-session/gemini-event-log";

/**
 * Just enough of a Durable Object's `SqlStorage` for the event log: its two tables, in memory. Each statement the log
 * issues is matched by its text, so a new statement fails loudly here instead of being ignored.
 */
function memorySql(): SqlStorage {
  const events = new Map<number, string>();
  const meta = new Map<string, string>();
  const rows = <T>(list: T[]) => ({ toArray: () => list, [Symbol.iterator]: () => list[Symbol.iterator]() });
  const exec = (query: string, ...args: unknown[]) => {
    if (query.startsWith("CREATE TABLE")) return rows([]);
    if (query === "SELECT data FROM events ORDER BY seq")
      return rows([...events.entries()].sort(([a], [b]) => a - b).map(([, data]) => ({ data })));
    if (query === "INSERT INTO events (seq, data) VALUES (?, ?)") {
      events.set(args[0] as number, args[1] as string);
      return rows([]);
    }
    if (query === "SELECT v FROM meta WHERE k = ?") {
      const v = meta.get(args[0] as string);
      return rows(v === undefined ? [] : [{ v }]);
    }
    if (query === "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)") {
      meta.set(args[0] as string, args[1] as string);
      return rows([]);
    }
    throw new Error(`memorySql: unexpected statement ${query}`);
  };
  return { exec } as unknown as SqlStorage;
}

const chunk = (text: string) => ({
  candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0 }],
});

describe("SessionEventLog.fail (a session whose engine crashed)", () => {
  it("ends a log that already gave events to clients with the format's explicit interruption, never a clean end", () => {
    const log = new GeminiEventLog(memorySql());
    log.append(chunk("Hello"));
    log.fail("the session failed");
    expect(log.length).toBe(2);
    expect(log.at(1)).toEqual(abortedChunk("the session failed"));
    expect(log.at(1)?.candidates?.[0]?.finishReason).toBe("OTHER");
    expect(log.end).toEqual({ result: "failed" });
  });

  it("adds no event to an empty log (the client gets an HTTP error instead) and keeps an ended log as it is", () => {
    const empty = new GeminiEventLog(memorySql());
    empty.fail("the session failed");
    expect(empty.length).toBe(0);
    expect(empty.end).toEqual({ result: "failed" });

    const done = new GeminiEventLog(memorySql());
    done.append(chunk("All of it"));
    done.finish({ result: "completed" });
    done.fail("too late");
    expect(done.length).toBe(1);
    expect(done.end).toEqual({ result: "completed" });
  });
});
