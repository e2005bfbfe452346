package blast

import (
	"strconv"
	"strings"
	"time"
)

// Area-code (NPA) data for quiet hours (compliance.md TM-01).
//
// Source: the North American Numbering Plan Administrator's public NPA
// assignments (nationalnanpa.com, "NPA Database" and planning letters for
// overlays in service or announced through 2026), mapped to IANA zones
// from the tz database's zone boundaries. Reviewed: 2026-11-27; next
// review due: 2027-05-27 (NANPA adds a few overlays a year: a number in a
// new code is "unknown" until the table lists it, which falls back to the
// patient's own zone, or the default zone).
//
// Where a state spans time zones the table works per area code; where an
// area code itself spans zones it maps to the zone of the majority of its
// population, noted below. A number's area code says where it was issued,
// not where its owner is now; that is why the patient's own zone is
// checked as well, and both windows must allow a send.
//
//   - FL 850/448 (panhandle): Central (Pensacola, Fort Walton Beach and
//     Panama City outnumber Eastern Tallahassee).
//   - ID 208/986: Mountain (Boise); the panhandle is Pacific.
//   - IN 812/930: Eastern; the Evansville corner is Central. 219 (Gary)
//     is Central.
//   - KY 270/364: Central (Bowling Green, Paducah, Owensboro).
//   - KS 620/785, NE 308, ND 701, SD 605, TX 432: Central; their western
//     counties are Mountain.
//   - MI 906 (Upper Peninsula): Eastern; four counties are Central.
//   - OR 541/458: Pacific; Malheur County is Mountain.
//   - TN 423, 865: Eastern; 931: Central.
//   - AK 907: Anchorage (the Aleutians west of 169°30′ W are Hawaii–Aleutian).
//   - AZ: Phoenix (no DST); the Navajo Nation observes DST.
//   - BC 250/778/236/672/257: Pacific; the Kootenays are partly Mountain.
//   - ON 807: Eastern (Thunder Bay); Kenora is Central.
//   - NL 709/879: Newfoundland; Labrador is mostly Atlantic.
//   - 867 (Yukon, Northwest Territories, Nunavut): Mountain.
var areaCodeData = []struct {
	region, zone, npas string
}{
	{"AL", "America/Chicago", "205 251 256 334 483 659 938"},
	{"AK", "America/Anchorage", "907"},
	{"AZ", "America/Phoenix", "480 520 602 623 928"},
	{"AR", "America/Chicago", "327 479 501 870"},
	{"CA", "America/Los_Angeles", "209 213 279 310 323 341 350 357 369 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669 707 714 738 747 760 805 818 820 831 837 840 858 909 916 925 949 951"},
	{"CO", "America/Denver", "303 719 720 970 983"},
	{"CT", "America/New_York", "203 475 860 959"},
	{"DE", "America/New_York", "302"},
	{"DC", "America/New_York", "202 771"},
	{"FL", "America/New_York", "239 305 321 324 352 386 407 561 645 656 689 727 728 754 772 786 813 863 904 941 954"},
	{"FL", "America/Chicago", "448 850"},
	{"GA", "America/New_York", "229 404 470 478 678 706 762 770 912 943"},
	{"HI", "Pacific/Honolulu", "808"},
	{"ID", "America/Boise", "208 986"},
	{"IL", "America/Chicago", "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872"},
	{"IN", "America/Indiana/Indianapolis", "260 317 463 574 765 812 930"},
	{"IN", "America/Chicago", "219"},
	{"IA", "America/Chicago", "319 515 563 641 712"},
	{"KS", "America/Chicago", "316 620 785 913"},
	{"KY", "America/New_York", "502 606 859"},
	{"KY", "America/Chicago", "270 364"},
	{"LA", "America/Chicago", "225 318 337 504 985"},
	{"ME", "America/New_York", "207"},
	{"MD", "America/New_York", "227 240 301 410 443 667"},
	{"MA", "America/New_York", "339 351 413 508 617 774 781 857 978"},
	{"MI", "America/Detroit", "231 248 269 313 517 586 616 679 734 810 906 947 989"},
	{"MN", "America/Chicago", "218 320 507 612 651 763 924 952"},
	{"MS", "America/Chicago", "228 601 662 769"},
	{"MO", "America/Chicago", "314 417 557 573 636 660 816 975"},
	{"MT", "America/Denver", "406"},
	{"NE", "America/Chicago", "308 402 531"},
	{"NV", "America/Los_Angeles", "702 725 775"},
	{"NH", "America/New_York", "603"},
	{"NJ", "America/New_York", "201 551 609 640 732 848 856 862 908 973"},
	{"NM", "America/Denver", "505 575"},
	{"NY", "America/New_York", "212 315 329 332 347 363 516 518 585 607 624 631 646 680 716 718 838 845 914 917 929 934"},
	{"NC", "America/New_York", "252 336 472 704 743 828 910 919 980 984"},
	{"ND", "America/Chicago", "701"},
	{"OH", "America/New_York", "216 220 234 283 326 330 380 419 436 440 513 567 614 740 937"},
	{"OK", "America/Chicago", "405 539 572 580 918"},
	{"OR", "America/Los_Angeles", "458 503 541 971"},
	{"PA", "America/New_York", "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878"},
	{"RI", "America/New_York", "401"},
	{"SC", "America/New_York", "803 821 839 843 854 864"},
	{"SD", "America/Chicago", "605"},
	{"TN", "America/New_York", "423 865"},
	{"TN", "America/Chicago", "615 629 731 901 931"},
	{"TX", "America/Chicago", "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 903 936 940 945 956 972 979"},
	{"TX", "America/Denver", "915"},
	{"UT", "America/Denver", "385 435 801"},
	{"VT", "America/New_York", "802"},
	{"VA", "America/New_York", "276 434 540 571 703 757 804 826 948"},
	{"WA", "America/Los_Angeles", "206 253 360 425 509 564"},
	{"WV", "America/New_York", "304 681"},
	{"WI", "America/Chicago", "262 274 353 414 534 608 715 920"},
	{"WY", "America/Denver", "307"},
	// US territories.
	{"PR", "America/Puerto_Rico", "787 939"},
	{"VI", "America/St_Thomas", "340"},
	{"GU", "Pacific/Guam", "671"},
	{"MP", "Pacific/Saipan", "670"},
	{"AS", "Pacific/Pago_Pago", "684"},
	// Canada.
	{"AB", "America/Edmonton", "368 403 587 780 825"},
	{"BC", "America/Vancouver", "236 250 257 604 672 778"},
	{"MB", "America/Winnipeg", "204 431 584"},
	{"NB", "America/Moncton", "428 506"},
	{"NL", "America/St_Johns", "709 879"},
	{"NS", "America/Halifax", "782 902"}, // shared with PE
	{"ON", "America/Toronto", "226 249 289 343 365 382 416 437 519 548 613 647 683 705 742 753 807 905 942"},
	{"QC", "America/Toronto", "263 354 367 418 438 450 468 514 579 581 819 873"},
	{"SK", "America/Regina", "306 474 639"},
	{"YT", "America/Edmonton", "867"}, // Yukon, Northwest Territories, Nunavut
}

// StateQuietHours returns the built-in state windows for marketing texts,
// stricter than the federal 08:00–21:00 (compliance.md TM-01; reviewed
// 2026-11-27, next review 2027-05-27):
//
//   - FL, Florida Telephone Solicitation Act (Fla. Stat. § 501.059), as
//     amended 2021: 08:00–20:00;
//   - OK, Oklahoma Telephone Solicitation Act (effective 1 Nov 2022):
//     08:00–20:00;
//   - MD, Stop the Spam Calls Act (effective 1 Jan 2024): 08:00–20:00.
//
// Windows are in the time zone of the number's area code. Each call
// returns a new map, so a host may extend it (after its own legal review)
// and pass it as QuietHours.States.
func StateQuietHours() map[string]QuietWindow {
	w := QuietWindow{Start: 8 * time.Hour, End: 20 * time.Hour}
	return map[string]QuietWindow{"FL": w, "OK": w, "MD": w}
}

// AreaCodeInfo is where a North American number's area code is.
type AreaCodeInfo struct {
	// NPA is the three-digit area code.
	NPA int
	// Region is the two-letter US state, territory or Canadian province
	// code ("FL", "DC", "PR", "ON").
	Region string
	// Zone is the IANA time zone of most of the area code's population.
	Zone string
}

// LookupAreaCode returns where a NANP number's area code is, from the
// built-in table. phone is E.164 ("+13055550100") or 10 or 11 digits;
// anything else (non-NANP numbers, unknown or unassigned area codes)
// reports false.
func LookupAreaCode(phone string) (AreaCodeInfo, bool) {
	npa, ok := nanpAreaCode(phone)
	if !ok {
		return AreaCodeInfo{}, false
	}
	key := strconv.Itoa(npa)
	for _, d := range areaCodeData {
		for f := range strings.FieldsSeq(d.npas) {
			if f == key {
				return AreaCodeInfo{NPA: npa, Region: d.region, Zone: d.zone}, true
			}
		}
	}
	return AreaCodeInfo{}, false
}

// nanpAreaCode extracts the area code of a NANP number: "+1" and ten
// digits, or ten digits, or "1" and ten digits.
func nanpAreaCode(phone string) (int, bool) {
	s := strings.TrimPrefix(phone, "+")
	if len(s) == 11 && s[0] == '1' {
		s = s[1:]
	}
	if len(s) != 10 || s[0] < '2' || s[0] > '9' {
		return 0, false
	}
	n := 0
	for i := range 3 {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	for i := 3; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	return n, true
}

// areaZone is an area code's region and loaded zone (nil when the zone
// does not load).
type areaZone struct {
	region string
	loc    *time.Location
}

// areaCodeTable loads the table once per engine: index = NPA (200–999).
// Area codes whose zone cannot be loaded (no tz database) are left out,
// so they read as unknown.
func areaCodeTable(load func(string) *time.Location) []areaZone {
	t := make([]areaZone, 1000)
	for _, d := range areaCodeData {
		// A zone that does not load leaves loc nil (quiet hours then
		// skip the number's window) but keeps the region (frequency caps
		// still apply).
		loc := load(d.zone)
		for f := range strings.FieldsSeq(d.npas) {
			n, err := strconv.Atoi(f)
			if err != nil || n < 200 || n > 999 {
				continue
			}
			t[n] = areaZone{region: d.region, loc: loc}
		}
	}
	return t
}
