// Package kproduce is a batch producer on sarama's lower-level API
// (Client.Leader, Client.InitProducerID, hand-built RecordBatches and
// Broker.Produce) that implements sarama.AsyncProducer for a
// non-transactional producer.
//
// It exists because sarama's own AsyncProducer spends 2.5–3.5 µs of CPU per
// record on channel hand-offs between its goroutines (five per message)
// whatever its configuration; Sluice's source tasks send batch-shaped
// traffic, which needs one hand-off in and one out. See BENCHMARKS.md,
// "The source's batch producer".
//
// What it keeps of sarama's AsyncProducer contract:
//   - Input, Successes, Errors, AsyncClose and Close behave as documented
//     on sarama.AsyncProducer: every message put on Input comes back exactly
//     once, on Successes (if Producer.Return.Successes) or Errors (if
//     Producer.Return.Errors), with Partition, Offset and, under
//     LogAppendTime, Timestamp set (Offset is -1 when the broker answered
//     that an earlier attempt had written it, without saying where);
//     AsyncClose sends what was handed over before it, then closes both
//     channels; Close also drains them and returns the errors as
//     sarama.ProducerErrors.
//   - Partitioning by Producer.Partitioner; a message's Key and Value are
//     encoded once, when it is taken from Input (an Encode error hands it
//     back on Errors, unsent); a message over Producer.MaxMessageBytes is
//     handed back with sarama.ErrMessageSizeTooLarge.
//   - The records of one partition are written in Input order. With
//     Producer.Idempotent they carry the producer id and contiguous
//     sequence numbers, and a retried batch keeps its sequence, so a retry
//     never writes a record twice.
//   - Retriable errors (leader moves, not enough replicas, request timeouts,
//     a broken connection) are retried per partition up to
//     Producer.Retry.Max times, backing off by Producer.Retry.BackoffFunc
//     (or Producer.Retry.Backoff); a partition has at most one batch in
//     flight, so nothing behind a failed batch overtakes it. When the
//     retries run out, that batch and every message of the partition queued
//     behind it come back on Errors with the error, in order. If an
//     attempt of that batch may have been written (a lost connection, a
//     request timeout) by an idempotent producer, the partition is
//     poisoned: its later messages come back with the same error at once,
//     since with this producer id the next batch could neither reuse the
//     batch's sequence numbers nor skip them (make a new producer: Sluice's
//     pipeline does after any retriable error). Otherwise the next batch
//     takes its sequence numbers. An answer that the broker lost this
//     producer's sequence state for the partition
//     (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
//     INVALID_PRODUCER_EPOCH) poisons it too. A partition
//     whose leader cannot be found (its broker is away) hands its messages
//     back at once, as sarama's producer does, instead of holding them for
//     Producer.Retry.Max metadata lookups. After AsyncClose a failed
//     attempt is not retried: its messages come back at once.
//
// How it batches: one goroutine takes messages from Input, in rounds of up
// to a few thousand, into one open batch per partition (capped at
// Producer.MaxMessageBytes, and Producer.Flush.MaxMessages if set); each
// broker has one request in flight, and when it is answered the broker's
// next request carries the next batch of every partition it leads. So
// batches grow with the load, with no linger: Producer.Flush.Frequency,
// Bytes and Messages do not apply. A message without a Timestamp gets the
// time its round began (to the millisecond). Records not yet answered are
// bounded to 32 MiB; beyond that Input is not read.
//
// What it does not do: transactions (New refuses a Producer.Transaction.ID;
// Sluice's exactly-once sources keep sarama's transactional producer), the
// pre-0.11 message format, and Producer.Interceptors.
package kproduce
