// Command promql-check parses PromQL with Prometheus's own parser, for the monitoring tests
// (e2e/test/promql-syntax.test.ts). Test infrastructure only: built from Go modules by
// scripts/build-promql-check.sh into a cache outside the repository, never shipped.
//
// Reads on stdin a JSON array of {"where": string, "expr": string, "kind": "alert"|"panel"} and
// writes on stdout a JSON array of problems {"where", "expr", "error"}, empty when all parse:
//
//   - any expression that github.com/prometheus/prometheus/promql/parser refuses (default options:
//     no experimental functions, as a Prometheus server without feature flags);
//   - an alert whose expression is not an instant vector. Prometheus loads such a rule, but a
//     range vector or a string fails at every evaluation, and a scalar becomes one sample without
//     labels, so the alert fires (or not) regardless of any series.
//
// Exit status 0 whenever the input could be read (problems are data), 2 when it could not.
// `promql-check --version` prints the Prometheus module version it was built with.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/prometheus/prometheus/promql/parser"
)

const module = "github.com/prometheus/prometheus"

type expression struct {
	Where string `json:"where"`
	Expr  string `json:"expr"`
	Kind  string `json:"kind"`
}

type problem struct {
	Where string `json:"where"`
	Expr  string `json:"expr"`
	Error string `json:"error"`
}

func check(p parser.Parser, e expression) string {
	if e.Kind != "alert" && e.Kind != "panel" {
		return fmt.Sprintf("unknown kind %q (want \"alert\" or \"panel\")", e.Kind)
	}
	// On error the parser may still return a partial AST: only the error counts.
	expr, err := p.ParseExpr(e.Expr)
	if err != nil {
		return err.Error()
	}
	if e.Kind == "alert" && expr.Type() != parser.ValueTypeVector {
		return fmt.Sprintf("an alert's expression must be an instant vector, this one is a %s",
			parser.DocumentedType(expr.Type()))
	}
	return ""
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == module {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Printf("%s %s\n", module, version())
		return
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: promql-check [--version] < expressions.json")
		os.Exit(2)
	}
	var inputs []expression
	if err := json.NewDecoder(os.Stdin).Decode(&inputs); err != nil {
		fmt.Fprintf(os.Stderr, "promql-check: stdin is not a JSON array of {where, expr, kind}: %v\n", err)
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	problems := []problem{}
	for _, e := range inputs {
		if msg := check(p, e); msg != "" {
			problems = append(problems, problem{Where: e.Where, Expr: e.Expr, Error: msg})
		}
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(problems); err != nil {
		fmt.Fprintf(os.Stderr, "promql-check: %v\n", err)
		os.Exit(2)
	}
}
