// Package pipeline runs typed multi-stage pipelines — the classic
// validate → process → enrich → output — with fan-out to N workers per
// stage and fan-in, ordered or unordered output, bounded buffers between
// stages (back-pressure), context cancellation, and first-error-wins.
// Every goroutine a Run starts has exited when Run returns.
//
// OnPool runs the stage function calls as tasks of a perfcore pool (the
// worker's notify_followers pipeline does), so they show in its metrics and
// are bounded by its size; a call no worker starts within PoolGrace runs on
// the stage goroutine, so a Run from inside a task of the same pool never
// deadlocks.
//
// Stages are typed with generics and composed with From and Then, so a
// pipeline is checked by the compiler and moves values without boxing.
//
// # Metrics
//
// Created on the pipeline's MeterProvider (OTel global when nil) under the
// meter name "github.com/brisk-go/brisk/libs/perfcore/pipeline", with the
// attributes pipeline=<name> and stage=<name>. Counts are added by each
// stage worker every 256 items and when it ends, so they cost nothing per
// item; the duration histogram samples 1 item in 16.
//
//	perfcore.pipeline.items.in         Int64Counter      {item}  items a stage received
//	perfcore.pipeline.items.out        Int64Counter      {item}  items a stage passed on
//	perfcore.pipeline.items.skipped    Int64Counter      {item}  items a stage dropped with ErrSkip
//	perfcore.pipeline.errors           Int64Counter      {error} stage errors (each stops its run)
//	perfcore.pipeline.stage.duration   Float64Histogram  s       time of one stage function call (sampled)
package pipeline
