package conformance

// explanations are the divergences CONFORMANCE.md lists, as rules. A
// divergence no rule matches fails the run.
var explanations = []Explanation{}
