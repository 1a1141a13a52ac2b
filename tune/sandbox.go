package tune

// Protection is one protection of the sandbox that a Runner puts a run
// in, as found on this machine: whether it is on, and how it works or why
// it is off.
type Protection struct {
	// Name is "processes", "network", "files", "memory", "process count"
	// or "privileges".
	Name string `json:"name"`
	On   bool   `json:"on"`
	How  string `json:"how"`
}

// stageConfig is what the stage is told, as JSON in argv[1].
type stageConfig struct {
	Path string   `json:"path"` // the program to exec
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	// Landlock: the paths the program may read (and execute), and those it
	// may also write. Nothing else in the file system is reachable.
	Landlock  bool     `json:"landlock"`
	ReadOnly  []string `json:"ro,omitempty"`
	ReadWrite []string `json:"rw,omitempty"`
	// NoExec lists ReadOnly paths whose files may be read but not run.
	NoExec []string `json:"noexec,omitempty"`
	// Limits: 0 leaves a limit as it is.
	AddressSpace uint64 `json:"as,omitempty"`
	Procs        uint64 `json:"nproc,omitempty"`
	// SwitchUID, when not negative, is the user (and group) id the stage
	// switches to after dropping its capabilities: tune as root starts the
	// stage as root, which can read tune's executable, and the program
	// then runs as nobody.
	SwitchUID int `json:"uid"`
	// Probe: set everything up, then report on stdout instead of exec.
	Probe bool `json:"probe,omitempty"`
}
