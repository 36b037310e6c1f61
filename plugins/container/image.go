package container

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// checkImages compares the image id each container runs with the id its
// image reference (the tag it was created from) names now. A difference is a
// deploy that was pulled or built but never rolled out. Each reference is
// inspected once, however many replicas use it; no registry is asked.
func checkImages(ctx context.Context, cli client.APIClient, verdicts []Verdict) error {
	type current struct {
		id      string
		missing bool
	}
	seen := map[string]current{}
	for i := range verdicts {
		v := &verdicts[i]
		ref := v.Image
		if ref == "" || strings.HasPrefix(ref, "sha256:") || strings.HasPrefix(v.ImageID, ref) {
			// Created from an id, not a tag: nothing can move.
			continue
		}
		cur, ok := seen[ref]
		if !ok {
			img, err := cli.ImageInspect(ctx, ref)
			switch {
			case err == nil:
				cur = current{id: img.ID}
			case cerrdefs.IsNotFound(err):
				cur = current{missing: true}
			default:
				return engineError(ctx, cli.DaemonHost(), "inspecting image "+ref, err)
			}
			seen[ref] = cur
		}
		if cur.missing {
			v.CurrentImageID = ""
			v.ImageStale = false
			v.imageNote = fmt.Sprintf("image %s no longer exists, cannot tell if stale", ref)
			continue
		}
		v.CurrentImageID = cur.id
		v.ImageStale = cur.id != v.ImageID
	}
	return nil
}

func imageFinding(v *Verdict) *Finding {
	switch {
	case v.ImageStale:
		return &Finding{Status: plugin.Warning, Kind: KindImage,
			Text: fmt.Sprintf("image stale (%s is now %s, running %s)", v.Image, shortImageID(v.CurrentImageID), shortImageID(v.ImageID))}
	case v.imageNote != "":
		return &Finding{Status: plugin.Unknown, Kind: KindError, Text: v.imageNote}
	}
	return nil
}

func shortImageID(id string) string { return shortID(strings.TrimPrefix(id, "sha256:")) }
