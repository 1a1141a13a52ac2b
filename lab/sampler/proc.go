package sampler

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
)

// tcpListen is the state column of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// CheckListener returns nil if process pid holds a TCP socket listening on
// port (found through /proc/PID/fd and /proc/net/tcp and tcp6), and
// otherwise an error that says so and names the processes that do listen
// there, if any. It catches a --pid that is some other live process (a
// shell, the wrong server), whose memory would otherwise be measured in
// silence.
func CheckListener(pid, port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("sampler: port %d out of range 1..65535", port)
	}
	listen, err := listeningInodes(port)
	if err != nil {
		return err
	}
	if len(listen) == 0 {
		return fmt.Errorf("sampler: cannot connect: nothing listens on TCP port %d of this machine (is the server running?)", port)
	}
	mine, err := socketInodes(pid)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("sampler: cannot check that process %d listens on port %d: %v (run as the server's user, or as root)", pid, port, err)
		}
		return fmt.Errorf("sampler: cannot check that process %d listens on port %d: %v", pid, port, err)
	}
	for ino := range mine {
		if listen[ino] {
			return nil
		}
	}
	msg := fmt.Sprintf("sampler: process %d (%s) does not listen on port %d, so its memory is not the server's", pid, comm(pid), port)
	if owners := listenerOwners(listen); len(owners) > 0 {
		parts := make([]string, len(owners))
		for i, o := range owners {
			parts[i] = fmt.Sprintf("%d (%s)", o, comm(o))
		}
		msg += fmt.Sprintf("; port %d is held by process %s: use --pid %d", port, strings.Join(parts, ", "), rootOf(owners))
	} else {
		msg += "; the process that listens there could not be found (another user's, or another PID namespace): give the server's own process id"
	}
	return errors.New(msg)
}

// listeningInodes returns the inodes of the TCP sockets (IPv4 and IPv6)
// listening on port, as this process's network namespace sees them.
func listeningInodes(port int) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	found := false
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			return nil, fmt.Errorf("sampler: reading %s: %v", f, err)
		}
		found = true
		for ino := range parseListeners(b, port) {
			out[ino] = true
		}
	}
	if !found {
		return nil, errors.New("sampler: /proc/net/tcp is missing: the listening check needs Linux with /proc mounted")
	}
	return out, nil
}

// parseListeners returns the inodes of the LISTEN entries with local port
// port in the text of /proc/net/tcp or tcp6.
func parseListeners(table []byte, port int) map[uint64]bool {
	out := map[uint64]bool{}
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		if ino, err := strconv.ParseUint(f[9], 10, 64); err == nil && ino != 0 {
			out[ino] = true
		}
	}
	return out
}

// socketInodes returns the inodes of the sockets among process pid's open
// files (links "socket:[INODE]" in /proc/PID/fd).
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	for _, e := range ents {
		l, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue // closed meanwhile
		}
		if s, ok := strings.CutPrefix(l, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				out[ino] = true
			}
		}
	}
	return out, nil
}

// listenerOwners returns, sorted, the processes whose open files include
// one of the sockets in inodes.
func listenerOwners(inodes map[uint64]bool) []int {
	var out []int
	for _, pid := range pids() {
		mine, err := socketInodes(pid)
		if err != nil {
			continue
		}
		for ino := range mine {
			if inodes[ino] {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// rootOf returns the process of procs whose parent is not in procs (a
// server's master process), or the first one.
func rootOf(procs []int) int {
	parents := parentMap()
	for _, p := range procs {
		if !slices.Contains(procs, parents[p]) {
			return p
		}
	}
	return procs[0]
}

// pids returns the ids of the processes in /proc, sorted.
func pids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// parentMap maps every process in /proc to its parent (from /proc/PID/stat).
func parentMap() map[int]int {
	out := map[int]int{}
	for _, pid := range pids() {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		if ppid, ok := parseStatPPID(b); ok {
			out[pid] = ppid
		}
	}
	return out
}

// parseStatPPID returns the parent id from the text of /proc/PID/stat:
// "PID (COMM) STATE PPID ...", where COMM may hold spaces and parentheses.
func parseStatPPID(stat []byte) (int, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	return ppid, err == nil
}

// Tree returns pid followed by all its descendants (children, their
// children, ...) in breadth-first order, from the parent ids in
// /proc/*/stat.
func Tree(pid int) []int {
	children := map[int][]int{}
	for p, pp := range parentMap() {
		children[pp] = append(children[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		kids := children[out[i]]
		slices.Sort(kids)
		out = append(out, kids...)
	}
	return out
}

// ReadTreeRSS returns the sum of the resident set sizes of pid and all its
// descendants and how many processes that is. Pages that processes share
// (a forked worker's copy of its master's memory) are counted once per
// process, so the sum overstates the memory used; its growth over a run is
// the processes' new private memory. A descendant that exits meanwhile is
// left out; pid itself must be readable.
func ReadTreeRSS(pid int) (rss uint64, procs int, err error) {
	for i, p := range Tree(pid) {
		n, err := ReadRSS(p)
		if err != nil {
			if i == 0 {
				return 0, 0, err
			}
			continue
		}
		rss += n
		procs++
	}
	return rss, procs, nil
}

// comm returns the command name of process pid, or "?".
func comm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
