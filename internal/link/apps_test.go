package link

import (
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/stretchr/testify/assert"
)

// Every form of Application-Id a CER or CEA can carry is listed, the vendor's with its vendor.
func TestAppList(t *testing.T) {
	c := framing.Capabilities{AuthAppIDs: []uint32{framing.AppRelay}, AcctAppIDs: []uint32{3},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}, {VendorID: 9, AcctAppID: 7}}}
	assert.Equal(t, []string{"auth:4294967295", "acct:3", "auth:16777252/10415", "acct:7/9"}, AppList(&c))
	assert.Empty(t, AppList(&framing.Capabilities{}))
}
