package main

import (
	"bytes"
	"encoding/gob"
	"os"
	"path/filepath"
	"time"
)

// Types for the standalone streams: every wire type kind, every basic type, and values the
// Rust decoder must skip or take apart.

type Inner struct {
	A int
	B string
}

type Node struct {
	Name string
	Kids []Node
}

type Everything struct {
	Bool    bool
	Int     int
	Neg     int64
	Big     int64
	Uint    uint64
	Float   float64
	Complex complex128
	Bytes   []byte
	String  string
	Array   [3]int
	Slice   []Inner
	Map     map[string]int
	Struct  Inner
	Pointer *Inner
	Any     interface{}
	When    time.Time
	Tree    Node
	Skipped int // zero: omitted on the wire
}

type Ext struct{ ID int }

func init() {
	gob.Register(Ext{})
}

func recordStandalone(out string) {
	write := func(name string, values ...interface{}) {
		var buf bytes.Buffer
		enc := gob.NewEncoder(&buf)
		for _, v := range values {
			must(enc.Encode(v))
		}
		must(os.WriteFile(filepath.Join(out, "stream-"+name+".bin"), buf.Bytes(), 0o644))
	}
	when := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	everything := Everything{
		Bool: true, Int: 300, Neg: -129, Big: -1 << 63, Uint: 1<<64 - 1, Float: 17.0, Complex: complex(1.5, -2),
		Bytes: []byte{0, 1, 2}, String: "héllo", Array: [3]int{1, 0, 3},
		Slice: []Inner{{1, "x"}, {}}, Map: map[string]int{"k": 7}, Struct: Inner{A: -1},
		Pointer: &Inner{B: "p"}, Any: Ext{ID: 9}, When: when,
		Tree: Node{Name: "root", Kids: []Node{{Name: "leaf"}}},
	}
	write("everything", everything, everything)
	write("nil-interface", map[string]interface{}{"nil": nil})
	write("singletons", 7, -7, "s", []byte("b"), true, 2.5, []string{"x", ""}, map[int]bool{1: true})
}
