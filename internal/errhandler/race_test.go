//go:build race

package errhandler

const raceEnabled = true
