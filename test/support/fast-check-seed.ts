import fc from "fast-check";

/**
 * Property tests run on one fixed seed so that a CI run is reproducible (the developers' rule: inject random
 * sources). Set FC_SEED to explore other seeds locally; a failure prints its seed and path for replay.
 */
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261206) });
