package e2e

import "testing"

// TestParseStatus: the status.dat reader keeps everything after the first
// "=" (perfdata is full of them), escaped newlines as they are, and
// rejects a truncated or malformed file instead of reading half of it.
func TestParseStatus(t *testing.T) {
	good := "# NAGIOS STATE RETENTION FILE\ninfo {\n\tversion=4.4.6\n\t}\n\nservicestatus {\n\thost_name=ml-node-01\n\tservice_description=Prediction drift\n" +
		"\tplugin_output=DRIFT WARNING - 2 of 2 columns drifted\n\tlong_plugin_output=reference a: 4000 rows\\nlabel: categorical\n" +
		"\tperformance_data=a=1;0.1;;0 b=2;;;0;1\n\t}\n"
	blocks, err := parseStatus([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[1].Type != "servicestatus" {
		t.Fatalf("blocks: %+v", blocks)
	}
	f := blocks[1].Fields
	if f["performance_data"] != "a=1;0.1;;0 b=2;;;0;1" || f["long_plugin_output"] != `reference a: 4000 rows\nlabel: categorical` || f["service_description"] != "Prediction drift" {
		t.Fatalf("fields: %q", f)
	}
	for name, bad := range map[string]string{
		"unclosed":      "servicestatus {\n\thost_name=x\n",
		"no key=value":  "servicestatus {\n\thost_name\n\t}\n",
		"outside block": "host_name=x\n",
	} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("%s: parsed %q without an error", name, bad)
		}
	}
}
