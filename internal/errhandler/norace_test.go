//go:build !race

package errhandler

const raceEnabled = false
