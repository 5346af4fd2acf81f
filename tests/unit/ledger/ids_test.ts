import { assertEquals } from "../../support/assert.ts";
import { type IdBytes, IdTracker } from "../../../lib/ledger/_ids.ts";

const enc = new TextEncoder();

// Where `field` and `id` are in `src`, which holds `"field": {"id": "id"}` once.
function idIn(src: Uint8Array, field: string, id: string): IdBytes {
  const text = new TextDecoder().decode(src);
  const fieldStart = text.indexOf(`"${field}"`) + 1;
  const idStart = text.indexOf(`"id": "${id}"`) + 7;
  return {
    src,
    fieldStart,
    fieldEnd: fieldStart + field.length,
    idStart,
    idEnd: idStart + id.length,
  };
}

const line = (field: string, id: string) => enc.encode(`{"${field}": {"id": "${id}"}}`);

Deno.test("queued ids are recorded in line order, with their text, before anything reads the tracker", () => {
  const tracker = new IdTracker();
  const block = enc.encode('{"v": {"id": "a"}}\n{"v": {"id": "b"}}\n{"v": {"id": "a"}}\n');
  const at = (n: number): IdBytes => {
    const start = [0, 19, 38][n]!;
    return {
      src: block,
      fieldStart: start + 2,
      fieldEnd: start + 3,
      idStart: start + 14,
      idEnd: start + 15,
    };
  };
  tracker.queueBytes(1, at(0));
  tracker.queueBytes(2, at(1));
  tracker.queueBytes(3, at(2));
  assertEquals([...tracker.duplicates.values()], [
    { field: "v", id: "a", lines: [1, 3], count: 2 },
  ]);
  assertEquals(tracker.duplicateCount, 1);
  assertEquals(tracker.table.size, 2);
});

Deno.test("an id seen on the exact path comes after those queued before it", () => {
  const tracker = new IdTracker();
  const src = line("violation", "c");
  tracker.queueBytes(4, idIn(src, "violation", "c"));
  tracker.see(5, { violation: { id: "c" } });
  tracker.queueBytes(6, idIn(src, "violation", "c"));
  assertEquals([...tracker.duplicates.values()], [
    { field: "violation", id: "c", lines: [4, 5, 6], count: 3 },
  ]);
});

Deno.test("queued ids are recorded when their bytes change hands: later changes to those bytes do not reach them", () => {
  const tracker = new IdTracker();
  const first = line("violation", "dup");
  const second = line("violation", "dup");
  tracker.queueBytes(1, idIn(first, "violation", "dup"));
  tracker.queueBytes(2, idIn(second, "violation", "dup"));
  // The next id has other bytes: those queued before it are recorded first, text and all.
  tracker.queueBytes(3, idIn(line("finding", "z"), "finding", "z"));
  second.fill(0x3f);
  first.fill(0x3f);
  assertEquals([...tracker.duplicates.values()], [
    { field: "violation", id: "dup", lines: [1, 2], count: 2 },
  ]);
});

Deno.test("a few hundred queued ids are recorded as they go, and the table grows past its first size", () => {
  const tracker = new IdTracker(16);
  const src = enc.encode(
    Array.from({ length: 10_000 }, (_, i) => `{"v": {"id": "${i % 3000}"}}`).join("\n"),
  );
  const text = new TextDecoder().decode(src);
  let from = 0;
  for (let i = 0; i < 10_000; i++) {
    const id = String(i % 3000);
    const fieldStart = text.indexOf('"v"', from) + 1;
    const idStart = fieldStart + 12;
    tracker.queueBytes(i + 1, {
      src,
      fieldStart,
      fieldEnd: fieldStart + 1,
      idStart,
      idEnd: idStart + id.length,
    });
    from = idStart + id.length;
  }
  assertEquals(tracker.table.size, 3000);
  assertEquals(tracker.duplicateCount, 3000);
  const d = tracker.duplicates.get([...tracker.duplicates.keys()][2999]!)!;
  assertEquals([d.field, d.id, d.lines, d.count], ["v", "2999", [3000, 6000, 9000], 3]);
});
