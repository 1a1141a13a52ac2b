package pool

// PerPActive reports whether this build uses the private slots of PerP
// pools (it does not under the race detector).
const PerPActive = pinning
