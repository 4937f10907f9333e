//go:build race

package kafkatest

// RaceDetector is true in a binary built with -race.
const RaceDetector = true
