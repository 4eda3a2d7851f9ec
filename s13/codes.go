package s13

import (
	"strconv"

	"github.com/hsdfat8/diam-gw/framing"
)

// Application and command (TS 29.272 §7.1, §7.2).
const (
	AppID       = framing.AppS13             // 16777252
	CommandCode = framing.CmdMEIdentityCheck // 324
	VendorID    = framing.Vendor3GPP         // 10415
)

// S13 AVP codes (TS 29.272 §7.3, all with the V bit and Vendor-Id 10415, M bit set).
const (
	AVPTerminalInformation uint32 = 1401
	AVPIMEI                uint32 = 1402
	AVPSoftwareVersion     uint32 = 1403
	AVPEquipmentStatus     uint32 = 1445
	AVP3GPP2MEID           uint32 = 1471
)

// EquipmentStatus is the Equipment-Status value (TS 29.272 §7.3.51). Newer editions call 0 and 1
// PERMITTEDLISTED and PROHIBITEDLISTED; the wire values are unchanged.
type EquipmentStatus int32

// Equipment-Status values.
const (
	Whitelisted EquipmentStatus = 0
	Blacklisted EquipmentStatus = 1
	Greylisted  EquipmentStatus = 2
)

// Known reports whether s is one of the three defined values.
func (s EquipmentStatus) Known() bool { return s >= Whitelisted && s <= Greylisted }

// String returns WHITELISTED, BLACKLISTED, GREYLISTED, or the number for other values.
func (s EquipmentStatus) String() string {
	switch s {
	case Whitelisted:
		return "WHITELISTED"
	case Blacklisted:
		return "BLACKLISTED"
	case Greylisted:
		return "GREYLISTED"
	}
	return "Equipment-Status " + strconv.FormatInt(int64(s), 10)
}

// ExperimentalResultCode is an Experimental-Result-Code with Vendor-Id 10415. Its numbers overlap
// Result-Code numbers with other meanings (5001 is DIAMETER_ERROR_USER_UNKNOWN here and
// DIAMETER_AVP_UNSUPPORTED there), hence a type of its own.
type ExperimentalResultCode uint32

// Experimental-Result-Code values an S13 answer may carry (TS 29.272 §7.4.3).
const (
	EquipmentUnknown ExperimentalResultCode = 5422 // DIAMETER_ERROR_EQUIPMENT_UNKNOWN
)

// String returns the 3GPP name, or the number for other codes.
func (c ExperimentalResultCode) String() string {
	if c == EquipmentUnknown {
		return "DIAMETER_ERROR_EQUIPMENT_UNKNOWN"
	}
	return "Experimental-Result-Code " + strconv.FormatUint(uint64(c), 10)
}

// appendVendorSpecificApp appends Vendor-Specific-Application-Id{Vendor-Id 10415,
// Auth-Application-Id 16777252}, which older EIRs expect in ECR and ECA.
func appendVendorSpecificApp(dst []byte) []byte {
	var g int
	dst, g = framing.BeginGrouped(dst, framing.AVPVendorSpecificApplicationID, framing.AVPFlagMandatory, 0)
	dst = framing.AppendUint32(dst, framing.AVPVendorID, framing.AVPFlagMandatory, 0, VendorID)
	dst = framing.AppendUint32(dst, framing.AVPAuthApplicationID, framing.AVPFlagMandatory, 0, AppID)
	return framing.EndGrouped(dst, g)
}
