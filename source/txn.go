package source

// testHookBeforeCommit, when set (tests only), is called by an exactly-once
// task after the records and offsets of a transaction were sent and before
// the transaction is committed: a test can stop or kill the process there,
// mid-transaction.
var testHookBeforeCommit func()
