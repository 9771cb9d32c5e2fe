/**
 * A request body held as pieces (views into one client buffer plus small new parts, see
 * `gemini/continuation-bytes.ts`) turned into a stream for one attempt. Pull-based and copied a slice at a time:
 * an attempt holds at most one slice of its own beyond what the transport buffers, and a transport that transfers
 * (detaches) the buffers it is given cannot damage the pieces the next attempt reuses.
 */

/** Bytes per enqueued slice. */
export const PIECE_SLICE_BYTES = 64 * 1024;

export function piecesStream(pieces: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        for (;;) {
          const piece = pieces[index];
          if (piece === undefined) {
            controller.close();
            return;
          }
          if (offset < piece.length) {
            const end = Math.min(piece.length, offset + PIECE_SLICE_BYTES);
            controller.enqueue(piece.slice(offset, end));
            offset = end;
            return;
          }
          index++;
          offset = 0;
        }
      },
    },
    { highWaterMark: 0 },
  );
}
