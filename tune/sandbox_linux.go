package tune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The sandbox of a run (see "The sandbox" in README.md).
//
// tune starts a sandboxed program in two steps. It starts its own
// executable (os.Executable) with argv[0] set to stageArgv0, in new user,
// PID, network, IPC and UTS namespaces (as far as the kernel allows, see
// probeSandbox). The init function below recognises argv[0] before main
// runs, and this "stage" then, on one locked OS thread: sets the resource
// limits, drops every capability from its bounding set, sets
// no_new_privs, restricts the file system (and TCP, and signals) with
// Landlock, and execs the program it was given. The program thus starts
// as PID 1 of its own PID namespace: when it exits or is killed, the
// kernel kills every process it started, whatever they did to their
// process group or session, and the stage was started with a parent-death
// signal, so the namespace also dies with tune.

// stageArgv0 marks a start of tune's own executable as a sandbox stage.
const stageArgv0 = "zerogc-tune-sandbox"

// stageExitSetup is the stage's exit status when it could not set the
// sandbox up; its stderr then says why.
const stageExitSetup = 125

// stageReport is what a probing stage prints.
type stageReport struct {
	Landlock    int  `json:"landlock"` // the ABI version applied, 0 for none
	CapsDropped bool `json:"capsDropped"`
}

func init() {
	if len(os.Args) == 2 && os.Args[0] == stageArgv0 {
		runStage(os.Args[1])
	}
}

// runStage sets up the sandbox of the calling process and execs the
// program; it returns only by exiting.
func runStage(arg string) {
	// Landlock, no_new_privs and the capability bounding set belong to a
	// thread: do it all on this one, and exec from it.
	runtime.LockOSThread()
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "zerogc-tune-sandbox: "+format+"\n", args...)
		os.Exit(stageExitSetup)
	}
	var c stageConfig
	if err := json.Unmarshal([]byte(arg), &c); err != nil {
		fail("bad configuration: %v", err)
	}
	if c.AddressSpace > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: c.AddressSpace, Max: c.AddressSpace}); err != nil {
			fail("RLIMIT_AS: %v", err)
		}
	}
	if c.Procs > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: c.Procs, Max: c.Procs}); err != nil {
			fail("RLIMIT_NPROC: %v", err)
		}
	}
	rep := stageReport{CapsDropped: dropCapabilities()}
	if c.SwitchUID >= 0 {
		// The group first: without the user's capability the group
		// cannot change any more.
		if err := unix.Setgroups(nil); err != nil && !errors.Is(err, unix.EPERM) {
			fail("setgroups: %v", err)
		}
		if err := unix.Setresgid(c.SwitchUID, c.SwitchUID, c.SwitchUID); err != nil {
			fail("setresgid %d: %v", c.SwitchUID, err)
		}
		if err := unix.Setresuid(c.SwitchUID, c.SwitchUID, c.SwitchUID); err != nil {
			fail("setresuid %d: %v", c.SwitchUID, err)
		}
		// A change of user clears the parent-death signal: set it again,
		// so that the run still dies with tune.
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
			fail("parent-death signal: %v", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("no_new_privs: %v", err)
	}
	if c.Landlock {
		abi, err := restrictFiles(c.ReadOnly, c.ReadWrite, c.NoExec)
		if err != nil {
			// The parent probed Landlock; failing here is a failure
			// of the run, not a silent loss of protection.
			fail("landlock: %v", err)
		}
		rep.Landlock = abi
	}
	if c.Probe {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
		os.Exit(0)
	}
	if c.Dir != "" {
		if err := os.Chdir(c.Dir); err != nil {
			fail("chdir: %v", err)
		}
	}
	err := syscall.Exec(c.Path, c.Args, c.Env)
	fail("exec %s: %v", c.Path, err)
}

// dropCapabilities empties the bounding and ambient sets, so that the
// program exec'd next has no capability, not even in its own user
// namespace. It reports whether it could (it needs CAP_SETPCAP, which the
// stage has as root of its user namespace).
func dropCapabilities() bool {
	last := 40
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	_ = unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	ok := true
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			ok = false
		}
	}
	return ok
}

// landlockABI returns the Landlock ABI version of the kernel, or 0 and why
// not.
func landlockABI() (int, error) {
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		switch e {
		case unix.ENOSYS:
			return 0, errors.New("the kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)")
		case unix.EOPNOTSUPP:
			return 0, errors.New("the kernel has Landlock built in but off (add landlock to the lsm= boot parameter)")
		}
		return 0, e
	}
	return int(v), nil
}

// Landlock access rights by the ABI version that introduced them.
const (
	llFileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE
	llV1         = llFileRights | unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	llRead = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
)

// restrictFiles applies a Landlock ruleset to the calling thread: the
// paths in ro may be read (and run, unless in noexec), those in rw also
// written; everything else is out of reach. Where the kernel's ABI has
// them, TCP bind and connect are denied too (the network namespace already
// has no interface), and signals and abstract UNIX sockets are scoped to
// the sandbox. It returns the ABI version used.
func restrictFiles(ro, rw, noexec []string) (int, error) {
	abi, err := landlockABI()
	if err != nil {
		return 0, err
	}
	handled := uint64(llV1)
	if abi >= 2 {
		handled |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		handled |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		handled |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled}
	size := unsafe.Sizeof(attr.Handled_access_fs)
	if abi >= 4 {
		attr.Handled_access_net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		size += unsafe.Sizeof(attr.Handled_access_net)
	}
	if abi >= 6 {
		attr.Scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
		size += unsafe.Sizeof(attr.Scoped)
	}
	fd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if e != 0 {
		return 0, fmt.Errorf("creating the ruleset: %v", e)
	}
	defer unix.Close(int(fd))
	skipExec := map[string]bool{}
	for _, p := range noexec {
		skipExec[p] = true
	}
	add := func(path string, access uint64) error {
		pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			switch {
			case errors.Is(err, unix.ENOENT):
				return nil // nothing there to allow
			case errors.Is(err, unix.EACCES):
				// The stage's user cannot reach the path (a run
				// switched to nobody, and a GOROOT under a home
				// directory of mode 0700, such as a toolchain in
				// the module cache): a rule would allow nothing the
				// file modes do not already deny, so none is needed.
				return nil
			}
			return fmt.Errorf("opening %s: %v", path, err)
		}
		defer unix.Close(pfd)
		var st unix.Stat_t
		if err := unix.Fstat(pfd, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			access &= llFileRights | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
		}
		rule := unix.LandlockPathBeneathAttr{Allowed_access: access & handled, Parent_fd: int32(pfd)}
		_, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, fd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		if e != 0 {
			return fmt.Errorf("allowing %s: %v", path, e)
		}
		return nil
	}
	for _, p := range ro {
		access := uint64(llRead)
		if !skipExec[p] {
			access |= unix.LANDLOCK_ACCESS_FS_EXECUTE
		}
		if err := add(p, access); err != nil {
			return 0, err
		}
	}
	for _, p := range rw {
		if err := add(p, handled); err != nil {
			return 0, err
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, err
	}
	if _, _, e := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); e != 0 {
		return 0, fmt.Errorf("restricting: %v", e)
	}
	return abi, nil
}

// sandboxLevel is how much isolation the kernel let tune set up.
type sandboxLevel int

const (
	levelNone   sandboxLevel = iota // a process group only
	levelRootNS                     // PID and network namespaces without a user namespace (root only)
	levelUserNS                     // user, PID and network namespaces
)

// nobody is the user a run runs as when tune runs as root.
const nobody = 65534

// sandbox is what a Runner found out about the machine at start.
type sandbox struct {
	exe      string // tune's own executable, started as the stage
	level    sandboxLevel
	landlock int // ABI version, 0 when off
	llErr    string
	runUID   int // the user id a run has outside its namespace
	caps     bool
	nsErr    string // why namespaces are off or reduced
}

// spawnFlags are the namespace flags of a level.
func (l sandboxLevel) flags() uintptr {
	switch l {
	case levelUserNS:
		return syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	case levelRootNS:
		return syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	}
	return 0
}

// command returns the command that runs c in the sandbox. A run (asRun)
// has the user id sb.runUID outside its namespaces; a build keeps tune's
// own, since it writes the build cache.
//
// When ctx ends, the command is killed with everything it started.
func (sb *sandbox) command(ctx context.Context, c stageConfig, asRun bool) *exec.Cmd {
	if sb.landlock == 0 {
		c.Landlock = false
	}
	var cmd *exec.Cmd
	if sb.exe == "" {
		// No stage: the program runs directly in a process group.
		cmd = exec.CommandContext(ctx, c.Path, c.Args[1:]...)
		cmd.Env, cmd.Dir = c.Env, c.Dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	} else {
		cmd = sb.stageCommand(ctx, c, asRun)
	}
	cmd.Cancel = func() error {
		killRun(cmd.Process.Pid)
		return nil
	}
	return cmd
}

// stageCommand starts the stage in the namespaces of sb's level.
func (sb *sandbox) stageCommand(ctx context.Context, c stageConfig, asRun bool) *exec.Cmd {
	euid, egid := os.Geteuid(), os.Getegid()
	c.SwitchUID = -1
	// A process group of its own: a Ctrl+C in tune's terminal is for
	// tune, which then stops the run itself.
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Cloneflags: sb.level.flags(), Setpgid: true}
	switch sb.level {
	case levelNone:
		if asRun && sb.runUID != euid {
			c.SwitchUID = sb.runUID
		}
	case levelUserNS:
		// Inside, the stage is root of its namespace (uid 0 = tune's
		// user outside). As root, tune also maps uid 1 inside to the
		// run's user outside, and the stage switches to it.
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: euid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: egid, Size: 1}}
		if euid == 0 {
			attr.UidMappings = append(attr.UidMappings, syscall.SysProcIDMap{ContainerID: 1, HostID: sb.runUID, Size: 1})
			attr.GidMappings = append(attr.GidMappings, syscall.SysProcIDMap{ContainerID: 1, HostID: sb.runUID, Size: 1})
			attr.GidMappingsEnableSetgroups = true
			if asRun {
				c.SwitchUID = 1
			}
		}
	case levelRootNS:
		if asRun && sb.runUID != euid {
			c.SwitchUID = sb.runUID
		}
	}
	b, _ := json.Marshal(c)
	cmd := exec.CommandContext(ctx, sb.exe)
	cmd.Args = []string{stageArgv0, string(b)}
	cmd.Env = []string{}
	cmd.SysProcAttr = attr
	return cmd
}

// probeLimit lets the tests try the weaker levels of a machine that has
// the strong ones.
var probeLimit = struct {
	maxLevel   sandboxLevel
	noLandlock bool
}{maxLevel: levelUserNS}

// probeSandbox finds the strongest level the kernel allows by starting the
// stage in probe mode, strongest first; if no level works with Landlock,
// it tries again without it.
func probeSandbox() *sandbox {
	sb := &sandbox{runUID: os.Geteuid()}
	if os.Geteuid() == 0 {
		sb.runUID = nobody
	}
	var err error
	if sb.landlock, err = landlockABI(); err != nil {
		sb.llErr = err.Error()
	}
	if probeLimit.noLandlock {
		sb.landlock, sb.llErr = 0, "turned off for a test"
	}
	exe, err := os.Executable()
	if err != nil {
		sb.nsErr = "tune cannot find its own executable to start the sandbox: " + err.Error()
		sb.landlock, sb.llErr = 0, sb.nsErr
		return sb
	}
	sb.exe = exe
	levels := []sandboxLevel{levelUserNS}
	if os.Geteuid() == 0 {
		levels = append(levels, levelRootNS)
	}
	levels = append(levels, levelNone)
	var why []string
	for {
		for _, l := range levels {
			if l > probeLimit.maxLevel {
				why = append(why, levelName(l)+": turned off for a test")
				continue
			}
			sb.level = l
			msg, ok := sb.probe()
			if ok {
				if l != levelUserNS {
					sb.nsErr = strings.Join(why, "; ")
				}
				return sb
			}
			why = append(why, levelName(l)+": "+msg)
		}
		if sb.landlock == 0 {
			break
		}
		sb.landlock, sb.llErr = 0, "the sandbox could not apply it: "+strings.Join(why, "; ")
	}
	sb.exe, sb.level = "", levelNone
	sb.nsErr = strings.Join(why, "; ")
	return sb
}

// probe starts the stage at sb's level in probe mode and reports whether
// it set everything up, or what went wrong.
func (sb *sandbox) probe() (string, bool) {
	dir := os.TempDir()
	cmd := sb.command(context.Background(), stageConfig{Path: "/", Args: []string{"/"}, Dir: dir,
		Landlock: true, ReadOnly: []string{dir}, Procs: 4096, Probe: true}, true)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			return strings.TrimSpace(string(ee.Stderr)), false
		}
		return err.Error(), false
	}
	var rep stageReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return "the probe answered " + strconv.Quote(string(out)), false
	}
	sb.caps = rep.CapsDropped
	return "", true
}

func levelName(l sandboxLevel) string {
	switch l {
	case levelUserNS:
		return "user namespace"
	case levelRootNS:
		return "namespaces as root"
	}
	return "process group"
}

// protections describes what the sandbox does, for the start message, the
// page and the tests.
func (sb *sandbox) protections(opt Options) []Protection {
	ns := sb.level != levelNone
	nsHow := func(what string) string {
		if sb.level == levelUserNS {
			return what + " (in a user namespace: needs no privilege)"
		}
		return what + " (tune runs as root; no user namespace: " + sb.nsErr + ")"
	}
	var ps []Protection
	if ns {
		ps = append(ps, Protection{Name: "processes", On: true, How: nsHow("a PID namespace per run: the run's first process is its PID 1, and when it ends or tune dies the kernel kills every process the run started")})
		ps = append(ps, Protection{Name: "network", On: true, How: nsHow("a network namespace per run with no interface, not even loopback") + landlockNet(sb.landlock)})
	} else {
		ps = append(ps, Protection{Name: "processes", How: "off: no PID namespace (" + sb.nsErr + "); the run's process group is killed at its end, but a process that leaves the group (setsid) survives the run"})
		ps = append(ps, Protection{Name: "network", How: "off: no network namespace (" + sb.nsErr + "); a snippet can connect to any address, loopback included"})
	}
	if sb.landlock > 0 {
		ps = append(ps, Protection{Name: "files", On: true, How: fmt.Sprintf("Landlock (ABI %d): a run reads and writes only its own directory, reads GOROOT; every other path is denied, whatever the file modes say", sb.landlock)})
	} else {
		ps = append(ps, Protection{Name: "files", How: "off: no Landlock (" + sb.llErr + "); a snippet can read and write whatever its user can"})
	}
	ps = append(ps, Protection{Name: "memory", On: true, How: fmt.Sprintf("a watchdog sums the resident memory of every process of the run every 10 ms and kills the run above %d MiB; each process also has RLIMIT_AS of the limit + 4 GiB and GOMEMLIMIT", opt.MemoryLimit>>20)})
	switch {
	case sb.level == levelUserNS || sb.level == levelRootNS && sb.runUID != 0:
		ps = append(ps, Protection{Name: "process count", On: true, How: fmt.Sprintf("RLIMIT_NPROC = %d threads and processes, counted for the run's own user (uid %d outside the sandbox)", opt.MaxProcs, sb.runUID)})
	case sb.runUID == 0:
		ps = append(ps, Protection{Name: "process count", How: "off: the run is root without a user namespace, and the kernel does not apply RLIMIT_NPROC to root"})
	default:
		ps = append(ps, Protection{Name: "process count", On: true, How: fmt.Sprintf("RLIMIT_NPROC = %d, but counted with every other process of your user (no user namespace)", opt.MaxProcs)})
	}
	if ns && sb.caps {
		who := "your user"
		if sb.runUID == nobody {
			who = "nobody (uid 65534)"
		}
		ps = append(ps, Protection{Name: "privileges", On: true, How: "the run is " + who + " outside its namespaces, with no capability (bounding set emptied) and no_new_privs"})
	} else {
		ps = append(ps, Protection{Name: "privileges", On: sb.runUID != 0, How: fmt.Sprintf("the run has uid %d and no_new_privs; capabilities could not be dropped in a namespace", sb.runUID)})
	}
	return ps
}

func landlockNet(abi int) string {
	if abi >= 4 {
		return "; Landlock also denies TCP bind and connect"
	}
	return ""
}
