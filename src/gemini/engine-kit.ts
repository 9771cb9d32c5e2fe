import { ContinuationAligner } from "../stream/aligner";
import { buildContinuationRequest, buildRestartRequest } from "./continuation-builder";
import type { ContinuationKit } from "./engine-types";

/** The production continuation kit: the continuation builder and the aligner. */
export const DEFAULT_CONTINUATION_KIT: ContinuationKit = {
  buildContinuation: buildContinuationRequest,
  buildRestart: buildRestartRequest,
  createAligner: (sentAnswer) => new ContinuationAligner(sentAnswer),
};
