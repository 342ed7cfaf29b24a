/*
Copyright 2026 The subscription-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command image assembles a container image from static binaries without pulling
// a base image or running a container engine, with go-containerregistry (the
// library ko is built on), and writes it as an OCI image layout tarball that
// `ctr images import` and `docker load`/`podman load` accept.
//
// The image holds a user and group 65532 ("nonroot", as in distroless), the CA
// bundle of the build machine, and the binaries; time zone data is embedded in
// the binaries (Go's time/tzdata). Every timestamp is -created (from
// SOURCE_DATE_EPOCH), every file is owned by root with a fixed mode, and entries
// are written in sorted order, so the same inputs give the same digest.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonroot is the uid and gid the programs run as (the manifests set the same).
const nonroot = 65532

// owner of every file but /home/nonroot.
const root = "root"

type options struct {
	binDir     string
	programs   []string
	entrypoint string
	name       string
	out        string
	created    time.Time
	caBundle   string
	user       string
	labels     map[string]string
	arch       string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("image: ")
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Fatal(err)
	}
	digest, err := build(o)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %s\n", o.out, o.name, digest)
}

func parseFlags(args []string) (options, error) {
	fset := flag.NewFlagSet("image", flag.ContinueOnError)
	var o options
	var programs, created string
	var labels labelFlag
	fset.StringVar(&o.binDir, "bin-dir", "", "directory holding the static binaries (required)")
	fset.StringVar(&programs, "programs", "manager,gateway,usage-tracker,demo-upstream", "comma-separated binaries from -bin-dir, placed at /<name>")
	fset.StringVar(&o.entrypoint, "entrypoint", "/manager", "the image's entrypoint")
	fset.StringVar(&o.name, "name", "ghcr.io/bakery-ia/subscription-operator:dev", "image reference recorded in the layout (ctr images import uses it)")
	fset.StringVar(&o.out, "out", "", "OCI layout tarball to write (required)")
	fset.StringVar(&created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time, Unix seconds (default $SOURCE_DATE_EPOCH; required for a reproducible image)")
	fset.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle to install as /etc/ssl/certs/ca-certificates.crt (empty: none)")
	fset.StringVar(&o.user, "user", fmt.Sprintf("%d:%d", nonroot, nonroot), "uid:gid the image runs as")
	fset.Var(&labels, "label", "key=value OCI label (org.opencontainers.image.*); repeatable")
	fset.StringVar(&o.arch, "arch", "amd64", "architecture of the binaries")
	if err := fset.Parse(args); err != nil {
		return o, err
	}
	if o.binDir == "" {
		return o, errors.New("-bin-dir is required")
	}
	if o.out == "" {
		return o, errors.New("-out is required")
	}
	for _, p := range strings.Split(programs, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.ContainsAny(p, "/\\") || p == "." || p == ".." {
			return o, fmt.Errorf("-programs: %q is not a plain file name", p)
		}
		o.programs = append(o.programs, p)
	}
	if len(o.programs) == 0 {
		return o, errors.New("-programs: at least one program is required")
	}
	if created == "" {
		return o, errors.New("-created (or SOURCE_DATE_EPOCH) is required: the image's timestamps come from it")
	}
	secs, err := strconv.ParseInt(created, 10, 64)
	if err != nil || secs < 0 {
		return o, fmt.Errorf("-created: %q is not Unix seconds", created)
	}
	o.created = time.Unix(secs, 0).UTC()
	o.labels = map[string]string(labels)
	return o, nil
}

// labelFlag collects repeated -label key=value flags.
type labelFlag map[string]string

func (l *labelFlag) String() string { return fmt.Sprint(map[string]string(*l)) }

func (l *labelFlag) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", kv)
	}
	if *l == nil {
		*l = labelFlag{}
	}
	(*l)[k] = v
	return nil
}

// file is one entry of a layer.
type file struct {
	name string // without a leading slash
	mode int64
	data []byte
	dir  bool
}

func build(o options) (v1.Hash, error) {
	var base []file
	base = append(base,
		file{name: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				fmt.Sprintf("nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonroot, nonroot))},
		file{name: "etc/group", mode: 0o644, data: []byte(
			"root:x:0:\n" + fmt.Sprintf("nonroot:x:%d:\n", nonroot))},
		// Go's resolver reads it: hosts first, then DNS (as glibc's default).
		file{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		file{name: "home/nonroot", mode: 0o700, dir: true},
		// A writable-by-nobody /tmp is not needed: the pods mount an emptyDir when
		// they need one and run with a read-only root file system.
	)
	if o.caBundle != "" {
		pem, err := os.ReadFile(o.caBundle)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("reading -ca-bundle: %w", err)
		}
		if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
			return v1.Hash{}, fmt.Errorf("-ca-bundle %s holds no PEM certificate", o.caBundle)
		}
		base = append(base, file{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: pem})
	}
	var bins []file
	for _, p := range o.programs {
		data, err := os.ReadFile(filepath.Join(o.binDir, p))
		if err != nil {
			return v1.Hash{}, fmt.Errorf("reading program %s: %w", p, err)
		}
		if !isStaticELF(data) {
			return v1.Hash{}, fmt.Errorf("program %s is not a statically linked ELF binary (build with CGO_ENABLED=0)", p)
		}
		bins = append(bins, file{name: p, mode: 0o755, data: data})
	}

	img, err := mutate.ConfigFile(mutate.MediaType(empty.Image, types.OCIManifestSchema1), &v1.ConfigFile{
		Architecture: o.arch,
		OS:           "linux",
		Created:      v1.Time{Time: o.created},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:       o.user,
			Entrypoint: []string{o.entrypoint},
			WorkingDir: "/",
			Env:        []string{"PATH=/", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
			Labels:     o.labels,
		},
	})
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image config: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range []struct {
		files []file
		by    string
	}{
		{base, "users 0 and 65532, CA certificates"},
		{bins, "programs " + strings.Join(o.programs, ", ")},
	} {
		if len(l.files) == 0 {
			continue
		}
		data, err := layerTar(l.files, o.created)
		if err != nil {
			return v1.Hash{}, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return v1.Hash{}, fmt.Errorf("layer: %w", err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: o.created}, CreatedBy: "hack/image: " + l.by},
		})
		if err != nil {
			return v1.Hash{}, fmt.Errorf("appending layer: %w", err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image digest: %w", err)
	}

	dir, err := os.MkdirTemp("", "image-layout-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("OCI layout: %w", err)
	}
	if err := lp.AppendImage(img,
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: o.arch}),
		layout.WithAnnotations(map[string]string{
			// The OCI name, and the one containerd's importer reads as the full reference.
			"org.opencontainers.image.ref.name": o.name,
			"io.containerd.image.name":          o.name,
		})); err != nil {
		return v1.Hash{}, fmt.Errorf("OCI layout: %w", err)
	}
	if err := tarDir(dir, o.out, o.created); err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}

// isStaticELF reports whether data is an ELF executable without a program
// interpreter (PT_INTERP), i.e. one that runs in an image without a libc.
func isStaticELF(data []byte) bool {
	if len(data) < 4 || string(data[:4]) != "\x7fELF" {
		return false
	}
	return !bytes.Contains(data[:min(len(data), 4096)], []byte("/lib64/ld-linux")) &&
		!bytes.Contains(data[:min(len(data), 4096)], []byte("/lib/ld-linux"))
}

// layerTar writes files (and their parent directories) as a tar stream in sorted
// order with fixed owners and times.
func layerTar(files []file, mtime time.Time) ([]byte, error) {
	entries := map[string]file{}
	for _, f := range files {
		entries[f.name] = f
		for d := path.Dir(f.name); d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = file{name: d, mode: 0o755, dir: true}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		f := entries[n]
		h := &tar.Header{Name: n, Mode: f.mode, ModTime: mtime, Uname: root, Gname: root, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
			if f.name == "home/nonroot" {
				h.Uid, h.Gid, h.Uname, h.Gname = nonroot, nonroot, "nonroot", "nonroot"
			}
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", n, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	return buf.Bytes(), nil
}

// tarDir writes the OCI layout in dir as a tarball with sorted entries and fixed
// times, so the tarball itself is reproducible too.
func tarDir(dir, out string, mtime time.Time) error {
	var names []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			names = append(names, p)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("reading OCI layout: %w", err)
	}
	sort.Strings(names)
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp) }()
	tw := tar.NewWriter(f)
	for _, p := range names {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Uname: root, Gname: root, Format: tar.FormatPAX}
		if st.IsDir() {
			h.Typeflag, h.Mode, h.Name = tar.TypeDir, 0o755, h.Name+"/"
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, st.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		_ = src.Close()
		if err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
