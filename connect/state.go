package connect

// State is the lifecycle state of a pipeline (connector) or task, with Kafka
// Connect's names so that status output reads the same.
type State string

// Lifecycle states.
const (
	StateUnassigned State = "UNASSIGNED"
	StateRunning    State = "RUNNING"
	StatePaused     State = "PAUSED"
	StateStopped    State = "STOPPED"
	StateFailed     State = "FAILED"
	StateRestarting State = "RESTARTING"
)
