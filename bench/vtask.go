package bench

// vtaskContenders returns the vtask contenders (filled in once vtask lands).
func vtaskContenders() []Contender { return nil }
