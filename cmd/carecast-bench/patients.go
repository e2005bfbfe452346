package main

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

// synthPatients is a cohort.PatientStore of n generated patients, made on
// the fly from their index: the audience costs no memory, so peak RSS
// measures the engine and the store, not the fixture. Patient i has ID
// "p%09d" (ascending in index order) and the mobile number phoneOf(i).
type synthPatients struct {
	org string
	n   int
}

var _ cohort.PatientStore = (*synthPatients)(nil)

func patientID(i int) string { return fmt.Sprintf("p%09d", i) }

// areaCodes are real US area codes; each holds 8,000,000 generated numbers
// (exchanges 200–999, lines 0000–9999).
var areaCodes = [...]int{212, 213, 312, 415, 617, 305, 206, 512}

const perArea = 8_000_000

// phoneOf returns patient i's mobile number in E.164.
func phoneOf(i int) string {
	r := i % perArea
	return fmt.Sprintf("+1%d%03d%04d", areaCodes[i/perArea%len(areaCodes)], 200+r/10000, r%10000)
}

// indexOfPhone returns i for phoneOf(i), or -1.
func indexOfPhone(s string) int {
	rest, ok := strings.CutPrefix(s, "+1")
	if !ok || len(rest) != 10 {
		return -1
	}
	area, err1 := strconv.Atoi(rest[:3])
	ex, err2 := strconv.Atoi(rest[3:6])
	line, err3 := strconv.Atoi(rest[6:])
	if err1 != nil || err2 != nil || err3 != nil || ex < 200 {
		return -1
	}
	for k, a := range areaCodes {
		if a == area {
			return k*perArea + (ex-200)*10000 + line
		}
	}
	return -1
}

func (s *synthPatients) patient(i int) carecast.Patient {
	return carecast.Patient{
		ID: patientID(i), FirstName: "Pat", LastName: "Example", Phone: phoneOf(i),
		PhoneLineType: carecast.LineMobile, Active: true, TimeZone: "America/New_York",
		Consent: carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true},
	}
}

func (s *synthPatients) index(id string) int {
	rest, ok := strings.CutPrefix(id, "p")
	if !ok || len(rest) != 9 {
		return -1
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i >= s.n {
		return -1
	}
	return i
}

// Patients implements cohort.PatientStore; the bench's cohort has the
// zero filter, so every patient matches.
func (s *synthPatients) Patients(ctx context.Context, orgID string, q cohort.Query) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		if orgID != s.org {
			return
		}
		start := 0
		if q.AfterID != "" {
			for start < s.n && patientID(start) <= q.AfterID {
				if i := s.index(q.AfterID); i >= 0 {
					start = i + 1
					break
				}
				start++
			}
		}
		for i := start; i < s.n; i++ {
			if i%4096 == 0 && ctx.Err() != nil {
				yield(carecast.Patient{}, ctx.Err())
				return
			}
			if !yield(s.patient(i), nil) {
				return
			}
		}
	}
}

// PatientsByID implements cohort.PatientStore.
func (s *synthPatients) PatientsByID(_ context.Context, orgID string, ids []string) ([]carecast.Patient, error) {
	if orgID != s.org {
		return nil, nil
	}
	out := make([]carecast.Patient, 0, len(ids))
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if i := s.index(id); i >= 0 && !seen[i] {
			seen[i] = true
			out = append(out, s.patient(i))
		}
	}
	sortPatients(out)
	return out, nil
}

func sortPatients(ps []carecast.Patient) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].ID < ps[j-1].ID; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// Search implements cohort.PatientStore (the bench never searches).
func (s *synthPatients) Search(context.Context, string, string, int) ([]carecast.Patient, error) {
	return nil, nil
}

// FindByContact implements cohort.PatientStore.
func (s *synthPatients) FindByContact(_ context.Context, orgID, contact string) ([]carecast.Patient, error) {
	if i := indexOfPhone(contact); orgID == s.org && i >= 0 && i < s.n {
		return []carecast.Patient{s.patient(i)}, nil
	}
	return nil, nil
}

// ApplyContactChange implements cohort.PatientStore; generated patients
// do not change.
func (s *synthPatients) ApplyContactChange(context.Context, string, cohort.ContactChange) error {
	return nil
}
