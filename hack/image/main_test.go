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

package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// fakeProgram is enough of a static ELF file for the checks of the builder.
var fakeProgram = append([]byte("\x7fELF\x02\x01\x01"), bytes.Repeat([]byte{0}, 64)...)

func testOptions(t *testing.T, out string) options {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"manager", "gateway"} {
		if err := os.WriteFile(filepath.Join(dir, p), fakeProgram, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-bin-dir", dir, "-programs", "manager,gateway", "-out", out, "-created", "1764633600",
		"-ca-bundle", ca, "-label", "org.opencontainers.image.revision=abc", "-label", "org.opencontainers.image.description=a, b"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestBuildIsReproducible(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	da, err := build(testOptions(t, a))
	if err != nil {
		t.Fatal(err)
	}
	db, err := build(testOptions(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Fatalf("two builds gave digests %s and %s", da, db)
	}
	ra, _ := os.ReadFile(a)
	rb, _ := os.ReadFile(b)
	if !bytes.Equal(ra, rb) {
		t.Fatal("two builds gave different tarballs")
	}
}

func TestImageContents(t *testing.T) {
	out := filepath.Join(t.TempDir(), "image.tar")
	digest, err := build(testOptions(t, out))
	if err != nil {
		t.Fatal(err)
	}
	// Unpack the layout tarball and read the image back with go-containerregistry.
	dir := t.TempDir()
	untar(t, out, dir)
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != digest {
		t.Fatalf("index %+v, want one manifest %s", im.Manifests, digest)
	}
	if got := im.Manifests[0].Annotations["io.containerd.image.name"]; got != "ghcr.io/bakery-ia/subscription-operator:dev" {
		t.Errorf("io.containerd.image.name = %q", got)
	}
	img, err := lp.Image(digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("invalid image: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || cfg.Config.Entrypoint[0] != "/manager" || cfg.OS != "linux" {
		t.Errorf("config %+v", cfg.Config)
	}
	if cfg.Config.Labels["org.opencontainers.image.description"] != "a, b" {
		t.Errorf("labels %v", cfg.Config.Labels)
	}
	files := imageFiles(t, img)
	if !strings.Contains(files["etc/passwd"], "nonroot:x:65532:65532:") || !strings.Contains(files["etc/group"], "nonroot:x:65532:") {
		t.Errorf("passwd %q group %q", files["etc/passwd"], files["etc/group"])
	}
	for _, f := range []string{"etc/ssl/certs/ca-certificates.crt", "manager", "gateway"} {
		if _, ok := files[f]; !ok {
			t.Errorf("image lacks %s", f)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "script"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-out", "x"}, "-bin-dir"},
		{[]string{"-bin-dir", dir}, "-out"},
		{[]string{"-bin-dir", dir, "-out", "x", "-created", ""}, "-created"},
		{[]string{"-bin-dir", dir, "-out", "x", "-created", "yesterday"}, "-created"},
		{[]string{"-bin-dir", dir, "-out", "x", "-created", "1", "-programs", "../etc/shadow"}, "-programs"},
		{[]string{"-bin-dir", dir, "-out", "x", "-created", "1", "-label", "novalue"}, "key=value"},
	} {
		if _, err := parseFlags(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%v) = %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
	o, err := parseFlags([]string{"-bin-dir", dir, "-programs", "script", "-out", filepath.Join(dir, "o.tar"), "-created", "1", "-ca-bundle", ""})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := build(o); err == nil || !strings.Contains(err.Error(), "statically linked") {
		t.Errorf("build of a shell script = %v, want a static-binary error", err)
	}
}

func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// imageFiles returns every regular file of the image's layers by path.
func imageFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				if h.Uid != 0 || h.ModTime.Unix() != 1764633600 {
					t.Errorf("%s: uid %d mtime %v", h.Name, h.Uid, h.ModTime)
				}
				b, _ := io.ReadAll(tr)
				files[h.Name] = string(b)
			}
		}
		_ = rc.Close()
	}
	return files
}
