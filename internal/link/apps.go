package link

import (
	"fmt"

	"github.com/hsdfat8/diam-gw/framing"
)

// AppList lists the applications a CER or CEA advertised, for the record of the handshake:
// "auth:ID" and "acct:ID", "auth:ID/VENDOR" for a Vendor-Specific-Application-Id. Safe for
// concurrent use.
func AppList(c *framing.Capabilities) []string {
	out := make([]string, 0, len(c.AuthAppIDs)+len(c.AcctAppIDs)+len(c.VendorSpecificApps))
	for _, id := range c.AuthAppIDs {
		out = append(out, fmt.Sprintf("auth:%d", id))
	}
	for _, id := range c.AcctAppIDs {
		out = append(out, fmt.Sprintf("acct:%d", id))
	}
	for _, a := range c.VendorSpecificApps {
		if a.AuthAppID != 0 {
			out = append(out, fmt.Sprintf("auth:%d/%d", a.AuthAppID, a.VendorID))
		} else {
			out = append(out, fmt.Sprintf("acct:%d/%d", a.AcctAppID, a.VendorID))
		}
	}
	return out
}
