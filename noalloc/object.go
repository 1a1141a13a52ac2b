package noalloc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The go command's compiled packages are ar archives holding the export
// data (__.PKGDEF) and the object file (_go_.o). The object file's format
// is the toolchain's (cmd/internal/goobj): after a text header,
//
//	Magic   "\x00go120ld"
//	Fingerprint [8]byte
//	Flags   uint32
//	Offsets [objNBlk]uint32  // of each block, from Magic
//
// and the symbols it defines are the fixed-size records of four adjacent
// blocks (package, short-hashed, hashed and non-package definitions):
//
//	Name  struct{ Len, Off uint32 } // Off from Magic
//	ABI   uint16
//	Type  uint8 // objabi.SymKind: 1 STEXT, 2 STEXTFIPS
//	Flag, Flag2 uint8
//	Size, Align uint32
//
// definedFuncs reads no more than that; any other layout is an error, and
// the caller then falls back to compiling more.
const (
	objMagic     = "\x00go120ld"
	objNBlk      = 19 // BlkAutolib … BlkRefName, BlkEnd
	objBlkSymdef = 3  // then Hashed64def, Hasheddef, Nonpkgdef
	objBlkNonref = 7  // Nonpkgref: the end of the definitions
	objSymSize   = 8 + 2 + 1 + 1 + 1 + 4 + 4
	objSTEXT     = 1
	objSTEXTFIPS = 2
)

// definedFuncs returns the names of the functions defined in the compiled
// package file (an archive from the build cache).
func definedFuncs(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	obj, err := arMember(data, "_go_.o")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	syms, err := objFuncs(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return syms, nil
}

// arMember returns the contents of the member name of an ar archive.
func arMember(data []byte, name string) ([]byte, error) {
	const hdr = 60
	rest, ok := bytes.CutPrefix(data, []byte("!<arch>\n"))
	if !ok {
		return nil, errors.New("not an ar archive")
	}
	for len(rest) >= hdr {
		n, err := strconv.Atoi(strings.TrimSpace(string(rest[48:58])))
		if err != nil || n < 0 || n > len(rest)-hdr {
			return nil, errors.New("bad ar header")
		}
		if strings.TrimSpace(string(rest[:16])) == name {
			return rest[hdr : hdr+n], nil
		}
		rest = rest[min(len(rest), hdr+n+n%2):]
	}
	return nil, errors.New("no " + name + " in the archive")
}

// objFuncs returns the function symbols an object file defines.
func objFuncs(obj []byte) ([]string, error) {
	i := bytes.Index(obj, []byte(objMagic))
	if i < 0 {
		return nil, errors.New("no " + strconv.Quote(objMagic) + " object (another toolchain's format?)")
	}
	b := obj[i:]
	head := len(objMagic) + 8 + 4
	if len(b) < head+4*objNBlk {
		return nil, errors.New("short object header")
	}
	u32 := func(off uint32) (uint32, bool) {
		if uint64(off)+4 > uint64(len(b)) {
			return 0, false
		}
		return binary.LittleEndian.Uint32(b[off:]), true
	}
	block := func(k int) uint32 { return binary.LittleEndian.Uint32(b[head+4*k:]) }
	start, end := block(objBlkSymdef), block(objBlkNonref)
	if start > end || uint64(end) > uint64(len(b)) || (end-start)%objSymSize != 0 {
		return nil, errors.New("bad symbol blocks")
	}
	var names []string
	for off := start; off < end; off += objSymSize {
		if t := b[off+8+2]; t != objSTEXT && t != objSTEXTFIPS {
			continue
		}
		n, ok1 := u32(off)
		at, ok2 := u32(off + 4)
		if !ok1 || !ok2 || uint64(at)+uint64(n) > uint64(len(b)) {
			return nil, errors.New("bad symbol name")
		}
		names = append(names, string(b[at:at+n]))
	}
	return names, nil
}
