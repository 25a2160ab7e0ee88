//go:build race

package soak

// raceOn is true under the race detector, which makes every poll several
// times dearer: the default run then polls less often.
const raceOn = true
