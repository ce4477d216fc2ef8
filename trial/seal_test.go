package trial

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// TestOpenBlobIntoBuffer opens blobs of several sizes one after another
// into one buffer, as the activity log's months are read: each opens to
// its own plain text, the buffer's storage is reused once large enough,
// and a blob sealed for another purpose, or altered, is refused.
func TestOpenBlobIntoBuffer(t *testing.T) {
	k := &AllocationKey{Instance: "test-instance"}
	rand.Read(k.Seal[:])
	plains := [][]byte{bytes.Repeat([]byte("a"), 9000), []byte("b"), bytes.Repeat([]byte("c"), 5000), {}}
	var sealed [][]byte
	for _, p := range plains {
		s, err := k.SealBlob("activity log 2017-03", p, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, s)
	}
	var buf []byte
	for i, s := range sealed {
		before := cap(buf)
		got, err := k.OpenBlob("activity log 2017-03", s, &buf)
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		if !bytes.Equal(got, plains[i]) {
			t.Errorf("blob %d opened to %d bytes, sealed %d", i, len(got), len(plains[i]))
		}
		if i > 0 && cap(buf) != before {
			t.Errorf("blob %d: the buffer of %d bytes was not reused (now %d)", i, before, cap(buf))
		}
		if len(got) > 0 && &got[0] != &buf[8] {
			t.Errorf("blob %d was not opened into the buffer", i)
		}
	}
	if got, err := k.OpenBlob("activity log 2017-03", sealed[1], nil); err != nil || !bytes.Equal(got, plains[1]) {
		t.Errorf("without a buffer: %q, %v", got, err)
	}
	if _, err := k.OpenBlob("activity log 2017-04", sealed[1], &buf); err == nil {
		t.Error("a blob opened for another purpose")
	}
	altered := bytes.Clone(sealed[1])
	altered[len(altered)-1] ^= 1
	if _, err := k.OpenBlob("activity log 2017-03", altered, &buf); err == nil {
		t.Error("an altered blob opened")
	}
	if got, err := k.OpenBlob("activity log 2017-03", sealed[2], &buf); err != nil || !bytes.Equal(got, plains[2]) {
		t.Errorf("after the refusals: %d bytes, %v", len(got), err)
	}
}
