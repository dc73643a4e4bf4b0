package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// The version comes from the build information the Go toolchain embeds
// (module version, VCS commit and state, Go version): nothing to stamp by
// hand, so `go install ./cmd/latch` and `go build` report it alike. The
// commit is there when the binary is built inside a git checkout with VCS
// stamping on (the default; GOFLAGS=-buildvcs=false turns it off, and
// `make install` turns it back on).

// releaseVersion names a release build (scripts/release.sh sets it with
// -ldflags "-X main.releaseVersion=v1.2.3"); empty otherwise, when the
// build information's module version stands.
var releaseVersion string

// buildVersion is what a binary knows of its own build.
type buildVersion struct {
	Module   string // github.com/latchid/latch
	Version  string // v1.2.3, a pseudo-version, or (devel)
	Commit   string // the VCS revision, or ""
	Time     string // the commit's time, or ""
	Modified bool   // built from a work tree with uncommitted changes
	Go       string // go1.26.x
	Platform string // linux/amd64
}

// readBuildInfo is the running binary's build information, or nil when it
// has none (a binary built without module support).
func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

func versionOf(bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return v
	}
	v.Module, v.Go = bi.Main.Path, bi.GoVersion
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if releaseVersion != "" {
		v.Version = releaseVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// moduleVersion is the one line of `latch --version`.
func moduleVersion(bi *debug.BuildInfo) string {
	v := versionOf(bi)
	line := "latch " + v.Version
	if v.Commit != "" {
		line += " (" + shortCommit(v) + ")"
	}
	return line + " " + v.Go
}

func shortCommit(v buildVersion) string {
	c := v.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if v.Modified {
		c += "+dirty"
	}
	return c
}

// printVersion is `latch version`: one fact a line.
func printVersion(w io.Writer, bi *debug.BuildInfo) error {
	v := versionOf(bi)
	module := v.Module
	if module == "" {
		module = "(unknown)"
	}
	commit := "unknown: built without VCS information (make install, or go build -buildvcs=true in a git checkout)"
	if v.Commit != "" {
		commit = v.Commit
		if v.Modified {
			commit += "+dirty"
		}
		if v.Time != "" {
			commit += " (" + v.Time + ")"
		}
	}
	_, err := fmt.Fprintf(w, "latch %s\nmodule: %s\ncommit: %s\ngo: %s %s\n", v.Version, module, commit, v.Go, v.Platform)
	return err
}

func versionCommand(inv *invocation) *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Short:       "print the module version, VCS commit and Go version of this binary",
		Args:        noArgs,
		Annotations: map[string]string{annotationNoConfig: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printVersion(inv.stdout, readBuildInfo())
		},
	}
}
