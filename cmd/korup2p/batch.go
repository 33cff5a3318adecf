package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

// batchLine is one line of a batch file.
type batchLine struct {
	Op    string          `json:"op"` // put (or set), patch, del (or delete)
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// maxBatchLine bounds one line of a batch file: a value of the largest size, escaped.
const maxBatchLine = 16 << 20

func (c *cli) batchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "batch FILE|-",
		Short: "Apply JSON lines of writes as one atomic write",
		Long: `Apply the writes in FILE (or standard input for "-") as one atomic write: one node,
all or nothing. Each line is a JSON object {"op":"put|patch|del","key":…,"value":…};
blank lines are skipped. A key may appear once per batch.

Prints the version of the write.`,
		Example: `  korup2p batch writes.jsonl
  printf '%s\n' '{"op":"put","key":"users/ada","value":{"name":"Ada"}}' \
                '{"op":"del","key":"users/old"}' | korup2p batch -`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = c.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			ops, err := readBatch(r)
			if err != nil {
				return err
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				res, err := b.Batch(ctx, c.space, ops)
				if err != nil {
					return err
				}
				if c.json {
					return printJSON(c.stdout, writeJSON{Version: cidString(res.Version), Clock: clockOf(res.Clock), Ops: len(ops)})
				}
				_, err = fmt.Fprintln(c.stdout, res.Version)
				return err
			})
		},
	}
}

// readBatch parses JSON lines of ops; its errors name the line (exit code 2).
func readBatch(r io.Reader) ([]korup2p.Op, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxBatchLine)
	var ops []korup2p.Op
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var bl batchLine
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&bl); err != nil {
			return nil, badInput(fmt.Errorf("batch line %d: %w", line, jsonError(text, err, dec.InputOffset())))
		}
		if dec.More() {
			return nil, badInput(fmt.Errorf("batch line %d: more than one JSON value (one object per line)", line))
		}
		var kind korup2p.OpKind
		switch bl.Op {
		case "put", "set":
			kind = korup2p.OpPut
		case "patch":
			kind = korup2p.OpPatch
		case "del", "delete":
			kind = korup2p.OpDel
		case "":
			return nil, badInput(fmt.Errorf("batch line %d: no \"op\" (want put, patch or del)", line))
		default:
			return nil, badInput(fmt.Errorf("batch line %d: unknown op %q (want put, patch or del)", line, bl.Op))
		}
		if bl.Key == "" {
			return nil, badInput(fmt.Errorf("batch line %d: no \"key\"", line))
		}
		op := korup2p.Op{Kind: kind, Key: bl.Key}
		if kind != korup2p.OpDel {
			if bl.Value == nil {
				return nil, badInput(fmt.Errorf("batch line %d: %s %s: no \"value\"", line, bl.Op, bl.Key))
			}
			op.Value = bl.Value
		}
		ops = append(ops, op)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, badInput(fmt.Errorf("batch: a line is longer than %d bytes", maxBatchLine))
		}
		return nil, fmt.Errorf("batch: %w", err)
	}
	if len(ops) == 0 {
		return nil, badInput(errors.New("batch: no ops (want JSON lines like {\"op\":\"put\",\"key\":\"users/ada\",\"value\":{}})"))
	}
	return ops, nil
}
