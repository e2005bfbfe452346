package cohortsql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/cohort/cohortsql"
	"github.com/carecast/carecast/cohort/cohorttest"
)

// refStore is a small reference PatientStore over a SQL table, built on
// cohortsql the way a host would: one row per patient with a column per
// filterable field, plus the patient as JSON for reading back.
type refStore struct {
	db      *sql.DB
	dialect cohortsql.Dialect
	where   *cohortsql.Compiler
	region  string
}

// columns maps every fixture field to its column.
func columns() map[string]string {
	return map[string]string{
		cohort.FieldLocation: "location_id", cohort.FieldProvider: "provider_id", cohort.FieldTags: "tags",
		cohort.FieldAge: "dob", cohort.FieldGender: "gender", cohort.FieldActive: "active",
		cohort.FieldLastVisit: "last_visit", cohort.FieldPhone: "phone", cohort.FieldEmail: "email",
		cohort.FieldPhoneLineType: "phone_line_type", cohort.FieldSMSOptedOut: "sms_opted_out",
		cohort.FieldSMSBlocked: "sms_blocked", cohort.FieldSMSMarketingOptIn: "sms_marketing_opt_in",
		cohort.FieldEmailMarketingOptIn: "email_marketing_opt_in", cohort.FieldEmailUnsubscribed: "email_unsubscribed",
		cohort.FieldEmailSuppressed: "email_suppressed",
		cohorttest.AttrTotalSpent:   "total_spent", cohorttest.AttrMedicationCount: "medication_count",
		cohorttest.AttrHasActiveChat: "has_active_chat", cohorttest.AttrMembership: "membership",
		cohorttest.AttrPackages: "packages", cohorttest.AttrLastAppointment: "last_appointment",
		cohorttest.AttrCancellations: "cancellations", cohorttest.AttrReferral: "referral",
	}
}

// ddl returns the table definition for the dialect.
func ddl(d cohortsql.Dialect) string {
	types := map[string]string{"text": "TEXT", "bool": "BOOLEAN", "int": "BIGINT", "real": "DOUBLE PRECISION", "time": "TIMESTAMPTZ", "date": "DATE", "json": "JSONB"}
	if d == cohortsql.SQLite {
		types = map[string]string{"text": "TEXT", "bool": "INTEGER", "int": "INTEGER", "real": "REAL", "time": "INTEGER", "date": "TEXT", "json": "TEXT"}
	}
	cols := []string{
		"org_id text NOT NULL", "id text NOT NULL", "data text NOT NULL",
		"first_name text", "last_name text", "preferred_name text", "phone text", "phone_digits text",
		"phone_e164 text", "email text", "email_norm text", "dob date", "gender text", "location_id text",
		"provider_id text", "tags json", "active bool NOT NULL", "last_visit time", "phone_line_type text",
		"sms_opted_out bool", "sms_blocked bool", "sms_marketing_opt_in bool", "email_marketing_opt_in bool",
		"email_unsubscribed bool", "email_suppressed bool",
		"total_spent int", "medication_count real", "has_active_chat bool", "membership text",
		"packages json", "last_appointment time", "cancellations real", "referral text",
	}
	for i, c := range cols {
		f := strings.Fields(c)
		f[1] = types[f[1]]
		cols[i] = strings.Join(f, " ")
	}
	return "CREATE TABLE patients (" + strings.Join(cols, ", ") + ", PRIMARY KEY (org_id, id))"
}

func newRefStore(t *testing.T, db *sql.DB, d cohortsql.Dialect, patients map[string][]carecast.Patient) *refStore {
	t.Helper()
	c, err := cohortsql.New(cohortsql.Config{Dialect: d, Schema: cohorttest.Schema(), Columns: columns()})
	if err != nil {
		t.Fatal(err)
	}
	s := &refStore{db: db, dialect: d, where: c, region: "US"}
	if _, err := db.Exec(ddl(d)); err != nil {
		t.Fatalf("create table: %v", err)
	}
	for org, ps := range patients {
		for _, p := range ps {
			if err := s.insert(org, p); err != nil {
				t.Fatalf("insert %s/%s: %v", org, p.ID, err)
			}
		}
	}
	return s
}

// ph returns the n-th (1-based) placeholder.
func (s *refStore) ph(n int) string {
	if s.dialect == cohortsql.Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// byID is the ORDER BY clause for byte-wise ID order.
func (s *refStore) byID() string {
	if s.dialect == cohortsql.Postgres {
		return ` ORDER BY id COLLATE "C"`
	}
	return " ORDER BY id"
}

func (s *refStore) idAfter(n int) string {
	if s.dialect == cohortsql.Postgres {
		return fmt.Sprintf(` AND id COLLATE "C" > $%d`, n)
	}
	return " AND id > ?"
}

func nullStr(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func (s *refStore) timeVal(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if s.dialect == cohortsql.SQLite {
		return t.UnixMicro()
	}
	return t.UTC()
}

func jsonSet(ss []string) any {
	if ss == nil {
		return nil
	}
	b, _ := json.Marshal(ss)
	return string(b)
}

// attr returns the value of a declared attribute in its column encoding,
// or nil when unset or stored with another type.
func (s *refStore) attr(p carecast.Patient, key string, typ carecast.AttrType) any {
	v, ok := p.Attributes[key]
	if !ok || v.Type != typ {
		return nil
	}
	switch typ {
	case carecast.AttrMoney:
		return int64(v.Money)
	case carecast.AttrNumber:
		return v.Number
	case carecast.AttrBool:
		return v.Bool
	case carecast.AttrStringSet:
		return jsonSet(v.Set)
	case carecast.AttrDate:
		return s.timeVal(v.Time)
	}
	return nullStr(v.String)
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *refStore) insert(org string, p carecast.Patient) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	phone, _ := cohort.NormalizeContact(p.Phone, s.region)
	email, _ := cohort.NormalizeEmail(p.Email)
	var dob any
	if !p.DateOfBirth.IsZero() {
		dob = p.DateOfBirth.String()
	}
	c := p.Consent
	vals := []any{
		org, p.ID, string(data), nullStr(p.FirstName), nullStr(p.LastName), nullStr(p.PreferredName),
		nullStr(p.Phone), digits(p.Phone), nullStr(phone), nullStr(p.Email), nullStr(email), dob, nullStr(p.Gender),
		nullStr(p.LocationID), nullStr(p.ProviderID), jsonSet(p.Tags), p.Active, s.timeVal(p.LastVisit),
		nullStr(string(p.PhoneLineType)), c.SMSOptedOut, c.SMSBlocked, c.SMSMarketingOptIn, c.EmailMarketingOptIn,
		c.EmailUnsubscribed, c.EmailSuppressed,
		s.attr(p, cohorttest.AttrTotalSpent, carecast.AttrMoney), s.attr(p, cohorttest.AttrMedicationCount, carecast.AttrNumber),
		s.attr(p, cohorttest.AttrHasActiveChat, carecast.AttrBool), s.attr(p, cohorttest.AttrMembership, carecast.AttrEnum),
		s.attr(p, cohorttest.AttrPackages, carecast.AttrStringSet), s.attr(p, cohorttest.AttrLastAppointment, carecast.AttrDate),
		s.attr(p, cohorttest.AttrCancellations, carecast.AttrNumber), s.attr(p, cohorttest.AttrReferral, cohort.AttrString),
	}
	phs := make([]string, len(vals))
	for i := range vals {
		phs[i] = s.ph(i + 1)
	}
	_, err = s.db.Exec("INSERT INTO patients VALUES ("+strings.Join(phs, ", ")+")", vals...)
	return err
}

// query runs a SELECT of the data column and decodes each row.
func (s *refStore) query(ctx context.Context, q string, args ...any) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			yield(carecast.Patient{}, err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var data string
			var p carecast.Patient
			if err := rows.Scan(&data); err != nil {
				yield(carecast.Patient{}, err)
				return
			}
			if err := json.Unmarshal([]byte(data), &p); err != nil {
				yield(carecast.Patient{}, err)
				return
			}
			if !yield(p, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(carecast.Patient{}, err)
		}
	}
}

func (s *refStore) list(ctx context.Context, q string, args ...any) ([]carecast.Patient, error) {
	var out []carecast.Patient
	for p, err := range s.query(ctx, q, args...) {
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// filtered returns " FROM patients WHERE org_id = ? AND (…) [AND id > ?]"
// and its arguments.
func (s *refStore) filtered(orgID string, q cohort.Query) (string, []any, error) {
	clause, args, err := s.where.Where(q.Filter, q.Now, 1)
	if err != nil {
		return "", nil, err
	}
	sqlText := " FROM patients WHERE org_id = " + s.ph(1) + " AND " + clause
	args = append([]any{orgID}, args...)
	if q.AfterID != "" {
		args = append(args, q.AfterID)
		sqlText += s.idAfter(len(args))
	}
	return sqlText, args, nil
}

func (s *refStore) Patients(ctx context.Context, orgID string, q cohort.Query) iter.Seq2[carecast.Patient, error] {
	from, args, err := s.filtered(orgID, q)
	if err != nil {
		return func(yield func(carecast.Patient, error) bool) { yield(carecast.Patient{}, err) }
	}
	return s.query(ctx, "SELECT data"+from+s.byID(), args...)
}

func (s *refStore) Count(ctx context.Context, orgID string, q cohort.Query) (int, error) {
	from, args, err := s.filtered(orgID, q)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.db.QueryRowContext(ctx, "SELECT COUNT(*)"+from, args...).Scan(&n)
	return n, err
}

func (s *refStore) PatientsByID(ctx context.Context, orgID string, ids []string) ([]carecast.Patient, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{orgID}
	phs := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		phs[i] = s.ph(i + 2)
	}
	return s.list(ctx, "SELECT data FROM patients WHERE org_id = "+s.ph(1)+" AND id IN ("+strings.Join(phs, ", ")+")"+s.byID(), args...)
}

func (s *refStore) Search(ctx context.Context, orgID, query string, limit int) ([]carecast.Patient, error) {
	sq := cohort.ParseSearch(query)
	if sq.Empty() || limit < 1 {
		return nil, nil
	}
	contains := func(expr string) string {
		if s.dialect == cohortsql.Postgres {
			return "strpos(lower(COALESCE(" + expr + ", '')), $2) > 0"
		}
		return "instr(lower(COALESCE(" + expr + ", '')), ?2) > 0"
	}
	conds := []string{
		contains("first_name"), contains("last_name"), contains("preferred_name"), contains("email"),
		"(first_name IS NOT NULL AND last_name IS NOT NULL AND " + contains("first_name || ' ' || last_name") + ")",
	}
	args := []any{orgID, sq.Text}
	if sq.Digits != "" {
		if s.dialect == cohortsql.Postgres {
			conds = append(conds, "strpos(phone_digits, $3) > 0")
		} else {
			conds = append(conds, "instr(phone_digits, ?3) > 0")
		}
		args = append(args, sq.Digits)
	}
	first := s.ph(1)
	if s.dialect == cohortsql.SQLite {
		first = "?1"
	}
	q := "SELECT data FROM patients WHERE org_id = " + first + " AND (" + strings.Join(conds, " OR ") + ")" + s.byID() + fmt.Sprintf(" LIMIT %d", limit)
	return s.list(ctx, q, args...)
}

func (s *refStore) FindByContact(ctx context.Context, orgID, contact string) ([]carecast.Patient, error) {
	key, ok := cohort.NormalizeContact(contact, s.region)
	if !ok {
		return nil, nil
	}
	return s.list(ctx, "SELECT data FROM patients WHERE org_id = "+s.ph(1)+" AND (phone_e164 = "+s.ph(2)+" OR email_norm = "+s.ph(3)+")"+s.byID(), orgID, key, key)
}

func (s *refStore) ApplyContactChange(ctx context.Context, orgID string, c cohort.ContactChange) error {
	if !c.Kind.Valid() || c.PatientID == "" {
		return fmt.Errorf("%w: %s", cohort.ErrInvalidChange, c.Kind)
	}
	ps, err := s.PatientsByID(ctx, orgID, []string{c.PatientID})
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return fmt.Errorf("refstore: patient %s: %w", c.PatientID, cohort.ErrNotFound)
	}
	p := ps[0]
	c.Kind.Apply(&p)
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	k := p.Consent
	_, err = s.db.ExecContext(ctx, fmt.Sprintf("UPDATE patients SET data = %s, sms_opted_out = %s, email_unsubscribed = %s, email_marketing_opt_in = %s, email_suppressed = %s, phone_line_type = %s WHERE org_id = %s AND id = %s",
		s.ph(1), s.ph(2), s.ph(3), s.ph(4), s.ph(5), s.ph(6), s.ph(7), s.ph(8)),
		string(data), k.SMSOptedOut, k.EmailUnsubscribed, k.EmailMarketingOptIn, k.EmailSuppressed, nullStr(string(p.PhoneLineType)), orgID, c.PatientID)
	return err
}

var (
	_ cohort.PatientStore   = (*refStore)(nil)
	_ cohort.PatientCounter = (*refStore)(nil)
)

// openSQLite opens a fresh SQLite database file in a temporary directory.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "p.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pgEnv names the environment variable holding the test database URL.
const pgEnv = "CARECAST_TEST_POSTGRES"

// openPostgres connects to CARECAST_TEST_POSTGRES inside a fresh schema
// that is dropped when the test ends. It skips the test when the variable
// is unset.
func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them", pgEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cohortsql_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", pgEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	return db
}

func TestConformanceSQLite(t *testing.T) {
	cohorttest.Run(t, cohorttest.Harness{
		NewStore: func(t *testing.T, patients map[string][]carecast.Patient) cohort.PatientStore {
			return newRefStore(t, openSQLite(t), cohortsql.SQLite, patients)
		},
	})
}

func TestConformancePostgres(t *testing.T) {
	if os.Getenv(pgEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them", pgEnv)
	}
	cohorttest.Run(t, cohorttest.Harness{
		NewStore: func(t *testing.T, patients map[string][]carecast.Patient) cohort.PatientStore {
			return newRefStore(t, openPostgres(t), cohortsql.Postgres, patients)
		},
	})
}

func ids(t *testing.T, seq iter.Seq2[carecast.Patient, error]) []string {
	t.Helper()
	out := []string{}
	for p, err := range seq {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		out = append(out, p.ID)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
