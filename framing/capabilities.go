package framing

import (
	"fmt"
	"net/netip"
)

// This file is the capabilities exchange (RFC 6733 §5.3): CER/CEA encoding, decoding into a small
// value, and the common-application check.

// VendorApp is one Vendor-Specific-Application-Id: a Vendor-Id and exactly one of an
// Auth-Application-Id or an Acct-Application-Id.
type VendorApp struct {
	VendorID  uint32
	AuthAppID uint32
	AcctAppID uint32
}

// Capabilities is what a CER or CEA says about its sender.
type Capabilities struct {
	OriginHost         string
	OriginRealm        string
	HostIPAddresses    []netip.Addr
	VendorID           uint32
	ProductName        string
	OriginStateID      uint32 // 0: not sent
	HasOriginStateID   bool   // set by the parsers; encoders send OriginStateID when non-zero
	SupportedVendorIDs []uint32
	AuthAppIDs         []uint32
	AcctAppIDs         []uint32
	VendorSpecificApps []VendorApp
	FirmwareRevision   uint32 // 0: not sent
}

// Supports reports whether the sender advertised app, in any of the three Application-Id forms
// (RFC 6733 §5.3: the Vendor-Id inside a Vendor-Specific-Application-Id is ignored), or
// advertised Relay, which covers every application (§2.4).
func (c *Capabilities) Supports(app uint32) bool {
	for _, id := range c.AuthAppIDs {
		if id == app || id == AppRelay {
			return true
		}
	}
	for _, id := range c.AcctAppIDs {
		if id == app || id == AppRelay {
			return true
		}
	}
	for _, v := range c.VendorSpecificApps {
		// A VSAI carries one id; the other field is 0 for "absent", which must not match app 0.
		id := v.AuthAppID
		if id == 0 {
			id = v.AcctAppID
		}
		if id == app || id == AppRelay {
			return true
		}
	}
	return false
}

// IsRelay reports whether the sender advertised the Relay application id 0xFFFFFFFF.
func (c *Capabilities) IsRelay() bool {
	for _, id := range c.AuthAppIDs {
		if id == AppRelay {
			return true
		}
	}
	for _, id := range c.AcctAppIDs {
		if id == AppRelay {
			return true
		}
	}
	for _, v := range c.VendorSpecificApps {
		if v.AuthAppID == AppRelay || v.AcctAppID == AppRelay {
			return true
		}
	}
	return false
}

// CEA is a decoded Capabilities-Exchange-Answer.
type CEA struct {
	Capabilities
	ResultCode   ResultCode
	Error        bool // E bit: the answer-message form, which may lack the capability AVPs
	ErrorMessage string
	FailedAVP    bool
}

// AppendCER appends a Capabilities-Exchange-Request describing c. CER is never proxiable and
// carries no Destination-Host/Realm (RFC 6733 §5.3.1).
func AppendCER(dst []byte, hbh, e2e uint32, c *Capabilities) []byte {
	dst, m := BeginMessage(dst, requestHeader(CmdCapabilitiesExchange, hbh, e2e))
	dst = appendCapabilities(dst, c, nil)
	return EndMessage(dst, m)
}

// AppendCEA appends the Capabilities-Exchange-Answer to req. errorMessage is sent when non-empty.
// A 3xxx code sets the E bit.
func AppendCEA(dst []byte, req Header, rc ResultCode, c *Capabilities, errorMessage string) []byte {
	h := AnswerHeader(req)
	if rc.IsProtocolError() {
		h.Flags |= FlagError
	}
	dst, m := BeginMessage(dst, h)
	dst = AppendUint32(dst, AVPResultCode, AVPFlagMandatory, 0, uint32(rc))
	dst = appendCapabilities(dst, c, func(dst []byte) []byte {
		if errorMessage != "" {
			dst = AppendString(dst, AVPErrorMessage, 0, 0, errorMessage)
		}
		return dst
	})
	return EndMessage(dst, m)
}

// appendCapabilities appends the capability AVPs in ABNF order; between Origin-State-Id and the
// application ids, mid adds what a CEA has there (Error-Message, Failed-AVP).
func appendCapabilities(dst []byte, c *Capabilities, mid func([]byte) []byte) []byte {
	dst = AppendString(dst, AVPOriginHost, AVPFlagMandatory, 0, c.OriginHost)
	dst = AppendString(dst, AVPOriginRealm, AVPFlagMandatory, 0, c.OriginRealm)
	for _, a := range c.HostIPAddresses {
		dst = AppendAddress(dst, AVPHostIPAddress, AVPFlagMandatory, 0, a)
	}
	dst = AppendUint32(dst, AVPVendorID, AVPFlagMandatory, 0, c.VendorID)
	dst = AppendString(dst, AVPProductName, 0, 0, c.ProductName) // no M bit (RFC 6733 §4.5)
	if c.OriginStateID != 0 {
		dst = AppendUint32(dst, AVPOriginStateID, AVPFlagMandatory, 0, c.OriginStateID)
	}
	if mid != nil {
		dst = mid(dst)
	}
	for _, v := range c.SupportedVendorIDs {
		dst = AppendUint32(dst, AVPSupportedVendorID, AVPFlagMandatory, 0, v)
	}
	for _, v := range c.AuthAppIDs {
		dst = AppendUint32(dst, AVPAuthApplicationID, AVPFlagMandatory, 0, v)
	}
	for _, v := range c.AcctAppIDs {
		dst = AppendUint32(dst, AVPAcctApplicationID, AVPFlagMandatory, 0, v)
	}
	for _, v := range c.VendorSpecificApps {
		var g int
		dst, g = BeginGrouped(dst, AVPVendorSpecificApplicationID, AVPFlagMandatory, 0)
		dst = AppendUint32(dst, AVPVendorID, AVPFlagMandatory, 0, v.VendorID)
		if v.AuthAppID != 0 {
			dst = AppendUint32(dst, AVPAuthApplicationID, AVPFlagMandatory, 0, v.AuthAppID)
		}
		if v.AcctAppID != 0 {
			dst = AppendUint32(dst, AVPAcctApplicationID, AVPFlagMandatory, 0, v.AcctAppID)
		}
		dst = EndGrouped(dst, g)
	}
	if c.FirmwareRevision != 0 {
		dst = AppendUint32(dst, AVPFirmwareRevision, 0, 0, c.FirmwareRevision) // no M bit
	}
	return dst
}

// ParseCER decodes a Capabilities-Exchange-Request. Origin-Host, Origin-Realm, at least one
// Host-IP-Address, Vendor-Id and Product-Name are required (RFC 6733 §5.3.1).
func ParseCER(msg []byte) (Capabilities, error) {
	var c Capabilities
	msg, h, err := Message(msg)
	if err != nil {
		return c, err
	}
	if h.Code != CmdCapabilitiesExchange || !h.IsRequest() {
		return c, fmt.Errorf("%w: want CER, got %s", ErrUnexpectedMessage, CommandName(h.Code, h.IsRequest()))
	}
	return c, parseCapabilities(msg, &c, nil, true)
}

// ParseCEA decodes a Capabilities-Exchange-Answer. Result-Code, Origin-Host and Origin-Realm are
// always required. A CEA without the E bit must also carry Host-IP-Address, Vendor-Id and
// Product-Name; an E-bit CEA (3010 DIAMETER_UNKNOWN_PEER, say) follows the answer-message grammar
// and may lack them (RFC 6733 §7.2).
func ParseCEA(msg []byte) (CEA, error) {
	var a CEA
	msg, h, err := Message(msg)
	if err != nil {
		return a, err
	}
	if h.Code != CmdCapabilitiesExchange || h.IsRequest() {
		return a, fmt.Errorf("%w: want CEA, got %s", ErrUnexpectedMessage, CommandName(h.Code, h.IsRequest()))
	}
	a.Error = h.IsError()
	return a, parseCapabilities(msg, &a.Capabilities, &a, !a.Error)
}

// capability AVPs that may occur at most once, by bit.
const (
	capResultCode = 1 << iota
	capOriginHost
	capOriginRealm
	capVendorID
	capProductName
	capOriginStateID
	capErrorMessage
	capFailedAVP
	capFirmware
)

// parseCapabilities decodes the capability AVPs into c (and the answer AVPs into a when it is
// not nil). full requires the AVPs a CER or a non-E-bit CEA must have.
func parseCapabilities(msg []byte, c *Capabilities, a *CEA, full bool) error {
	var seen uint32
	once := func(bit uint32, av *AVP) error {
		if seen&bit != 0 {
			return avpErr(ErrDuplicateAVP, av.Code, av.Vendor, av.Offset)
		}
		seen |= bit
		return nil
	}
	it := AVPs(msg)
	for it.Next() {
		av := it.AVP()
		if av.Vendor != 0 {
			continue
		}
		var err error
		switch av.Code {
		case AVPResultCode:
			if a == nil {
				continue
			}
			if err = once(capResultCode, av); err == nil {
				var v uint32
				v, err = av.Uint32()
				a.ResultCode = ResultCode(v)
			}
		case AVPOriginHost:
			if err = once(capOriginHost, av); err == nil {
				c.OriginHost = string(av.Data)
			}
		case AVPOriginRealm:
			if err = once(capOriginRealm, av); err == nil {
				c.OriginRealm = string(av.Data)
			}
		case AVPHostIPAddress:
			var ip netip.Addr
			if ip, err = av.Address(); err == nil {
				c.HostIPAddresses = append(c.HostIPAddresses, ip)
			}
		case AVPVendorID:
			if err = once(capVendorID, av); err == nil {
				c.VendorID, err = av.Uint32()
			}
		case AVPProductName:
			if err = once(capProductName, av); err == nil {
				c.ProductName = string(av.Data)
			}
		case AVPOriginStateID:
			if err = once(capOriginStateID, av); err == nil {
				c.OriginStateID, err = av.Uint32()
				c.HasOriginStateID = err == nil
			}
		case AVPErrorMessage:
			if a == nil {
				continue
			}
			if err = once(capErrorMessage, av); err == nil {
				a.ErrorMessage = string(av.Data)
			}
		case AVPFailedAVP:
			if a == nil {
				continue
			}
			if err = once(capFailedAVP, av); err == nil {
				a.FailedAVP = true
			}
		case AVPSupportedVendorID:
			var v uint32
			if v, err = av.Uint32(); err == nil {
				c.SupportedVendorIDs = append(c.SupportedVendorIDs, v)
			}
		case AVPAuthApplicationID:
			var v uint32
			if v, err = av.Uint32(); err == nil {
				c.AuthAppIDs = append(c.AuthAppIDs, v)
			}
		case AVPAcctApplicationID:
			var v uint32
			if v, err = av.Uint32(); err == nil {
				c.AcctAppIDs = append(c.AcctAppIDs, v)
			}
		case AVPVendorSpecificApplicationID:
			var v VendorApp
			if v, err = parseVendorApp(av); err == nil {
				c.VendorSpecificApps = append(c.VendorSpecificApps, v)
			}
		case AVPFirmwareRevision:
			if err = once(capFirmware, av); err == nil {
				c.FirmwareRevision, err = av.Uint32()
			}
		}
		if err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if a != nil && seen&capResultCode == 0 {
		return avpErr(ErrMissingAVP, AVPResultCode, 0, HeaderLen)
	}
	if c.OriginHost == "" {
		return avpErr(ErrMissingAVP, AVPOriginHost, 0, HeaderLen)
	}
	if c.OriginRealm == "" {
		return avpErr(ErrMissingAVP, AVPOriginRealm, 0, HeaderLen)
	}
	if full {
		switch {
		case len(c.HostIPAddresses) == 0:
			return avpErr(ErrMissingAVP, AVPHostIPAddress, 0, HeaderLen)
		case seen&capVendorID == 0:
			return avpErr(ErrMissingAVP, AVPVendorID, 0, HeaderLen)
		case seen&capProductName == 0:
			return avpErr(ErrMissingAVP, AVPProductName, 0, HeaderLen)
		}
	}
	return nil
}

// parseVendorApp decodes a Vendor-Specific-Application-Id: { Vendor-Id } and exactly one of
// [ Auth-Application-Id ] / [ Acct-Application-Id ] (RFC 6733 §6.11).
func parseVendorApp(g *AVP) (VendorApp, error) {
	var v VendorApp
	var vendor, auth, acct int
	it := g.Grouped()
	for it.Next() {
		m := it.AVP()
		if m.Vendor != 0 {
			continue
		}
		var err error
		switch m.Code {
		case AVPVendorID:
			vendor++
			v.VendorID, err = m.Uint32()
		case AVPAuthApplicationID:
			auth++
			v.AuthAppID, err = m.Uint32()
		case AVPAcctApplicationID:
			acct++
			v.AcctAppID, err = m.Uint32()
		}
		if err != nil {
			return v, err
		}
	}
	if err := it.Err(); err != nil {
		return v, err
	}
	switch {
	case vendor == 0:
		return v, avpErr(ErrMissingAVP, AVPVendorID, 0, g.Offset)
	case vendor > 1 || auth+acct > 1:
		return v, avpErr(ErrDuplicateAVP, AVPVendorSpecificApplicationID, 0, g.Offset)
	case auth+acct == 0:
		return v, avpErr(ErrMissingAVP, AVPAuthApplicationID, 0, g.Offset)
	}
	return v, nil
}
