import Testing
@testable import CommerceETL

/// The issue's example pipeline, verbatim: it must validate.
let examplePipeline = """
version: 1
name: seed-examples
description: The documents' own example responses, replayed.
connections:
  recorded:
    type: files
    dialect: aurora-xml          # aurora-xml | aurora-rest | americommerce
    paths: [samples/aurora-xml/order-get-*.xml]
extract:
  orders:
    connection: recorded
    resource: orders             # aurora-xml: orders | products
transform:
  lines:
    input: orders
    steps:
      - explode: { path: Items, parent_as: order }
      - select:
          order_id: order.OrderID
          currency: order.Currency
          sku: VariationReference
          ean: VariationEAN
          quantity: Quantity
          price: Price
load:
  lines_csv:
    input: lines
    csv: { path: out/order-lines.csv }
  orders_archive:
    input: orders
    ndjson_gz: { path: out/orders.ndjson.gz }
  reporting_db:
    input: lines
    sqlite: { path: out/reporting.sqlite, table: order_lines }
"""

private func diagnostics(_ yaml: String, environment: [String: String] = [:]) -> [String] {
    PipelineLoader.load(yaml: yaml, file: "p.yml", environment: environment).diagnostics.map(\.description)
}

@Suite struct PipelineValidationTests {
    @Test func theIssueExampleValidatesWithTheExpectedGraph() throws {
        let outcome = PipelineLoader.load(yaml: examplePipeline, file: "p.yml", environment: [:])
        #expect(outcome.diagnostics.isEmpty)
        let pipeline = try #require(outcome.pipeline)
        #expect(pipeline.stages.map(\.id) == ["orders", "lines", "lines_csv", "orders_archive", "reporting_db"])
        #expect(pipeline.consumers(of: "orders").map(\.id) == ["lines", "orders_archive"])
        #expect(pipeline.consumers(of: "lines").map(\.id) == ["lines_csv", "reporting_db"])
    }

    @Test func misspelledKeyIsLocatedWithASuggestion() {
        let yaml = examplePipeline.replacingOccurrences(of: "    resource: orders ", with: "    resourse: orders ")
        let messages = diagnostics(yaml)
        #expect(messages.contains("p.yml:12:5: error: unknown key 'resourse' in 'extract.orders' (did you mean 'resource'?)"))
        // The required key it replaced is missing too.
        #expect(messages.contains { $0.hasPrefix("p.yml:11:5: error: 'extract.orders' is missing required key 'resource'") })
    }

    @Test func checkpointEveryIsReadAndChecked() throws {
        let every = examplePipeline.replacingOccurrences(of: "name: seed-examples\n", with: "name: seed-examples\ncheckpoint_every: 7\n")
        #expect(try #require(PipelineLoader.load(yaml: every, file: "p.yml", environment: [:]).pipeline).checkpointEvery == 7)
        #expect(try #require(PipelineLoader.load(yaml: examplePipeline, file: "p.yml", environment: [:]).pipeline).checkpointEvery == 50)
        let zero = examplePipeline.replacingOccurrences(of: "name: seed-examples\n", with: "name: seed-examples\ncheckpoint_every: 0\n")
        #expect(diagnostics(zero).contains("p.yml:3:19: error: 'checkpoint_every' must be between 1 and 1000000, found 0"))
    }

    @Test func misspelledTopLevelKey() {
        let yaml = examplePipeline.replacingOccurrences(of: "transform:", with: "transfrom:")
        #expect(diagnostics(yaml).contains("p.yml:13:1: error: unknown key 'transfrom' in 'pipeline' (did you mean 'transform'?)"))
    }

    /// Settings are read as text and typed by their option: a plain `null`, `~` or empty value is
    /// null (an error where a value is needed); quoted, or a YAML 1.1 word such as `yes`/`no`,
    /// `0123` or `1e3`, it is the text as written.
    @Test func nullAndYAMLWordsAreReadAsWritten() throws {
        for null in ["null", "~", ""] {
            let yaml = examplePipeline.replacingOccurrences(of: "    csv: { path: out/order-lines.csv }", with: "    csv: { path: \(null) }")
            #expect(diagnostics(yaml).contains { $0.hasPrefix("p.yml:28:") && $0.hasSuffix("error: 'load.lines_csv.csv.path' must be a string, found null") },
                    "\(null): \(diagnostics(yaml))")
        }
        for (written, read) in [("'null'", "null"), ("0123", "0123"), ("no", "no"), ("1e3", "1e3"), ("Null", "Null")] {
            let yaml = examplePipeline.replacingOccurrences(of: "    csv: { path: out/order-lines.csv }", with: "    csv: { path: \(written) }")
            let pipeline = try #require(PipelineLoader.load(yaml: yaml, file: "p.yml", environment: [:]).pipeline, "\(written)")
            guard case .load(_, let load)? = pipeline.stage("lines_csv")?.role else { Issue.record("no load"); continue }
            #expect((load as? CSVLoad)?.path == read, "\(written)")
        }
    }

    @Test func wrongTypeIsReported() {
        let yaml = examplePipeline.replacingOccurrences(of: "    csv: { path: out/order-lines.csv }", with: "    csv: out/order-lines.csv")
        #expect(diagnostics(yaml).contains("p.yml:28:10: error: 'load.lines_csv.csv' must be a mapping, found a scalar"))
    }

    @Test func unknownInputStageAndLoadWithoutInput() {
        var yaml = examplePipeline.replacingOccurrences(of: "    input: lines\n    csv:", with: "    input: line\n    csv:")
        yaml = yaml.replacingOccurrences(of: "    input: orders\n    ndjson_gz:", with: "    ndjson_gz:")
        let messages = diagnostics(yaml)
        #expect(messages.contains("p.yml:27:12: error: stage 'lines_csv' reads unknown stage 'line' (did you mean 'lines'?)"))
        #expect(messages.contains { $0.hasPrefix("p.yml:29:3: error: load 'orders_archive' has no input") })
    }

    @Test func cycleIsReportedOnce() {
        let yaml = examplePipeline.replacingOccurrences(of: "  lines:\n    input: orders", with: """
              lines:
                input: other
                steps: [ { drop: [x] } ]
              other:
                input: lines
            """)
        let cycles = diagnostics(yaml).filter { $0.contains("cycle") }
        #expect(cycles == ["p.yml:14:3: error: stages form a cycle: lines -> other -> lines"])
    }

    @Test func unreadStageIsAWarningNotAnError() throws {
        let yaml = examplePipeline.replacingOccurrences(of: "load:\n", with: """
              extra:
                input: orders
                steps: [ { drop: [Items] } ]
            load:

            """)
        let outcome = PipelineLoader.load(yaml: yaml, file: "p.yml", environment: [:])
        #expect(!outcome.hasErrors)
        #expect(outcome.diagnostics.map(\.description) == ["p.yml:25:3: warning: nothing reads stage 'extra'; its records are discarded"])
    }

    @Test func unknownStepFormatAndChoice() {
        var yaml = examplePipeline.replacingOccurrences(of: "- explode:", with: "- explod:")
        yaml = yaml.replacingOccurrences(of: "dialect: aurora-xml ", with: "dialect: aurora-xm ")
        yaml = yaml.replacingOccurrences(of: "sqlite: {", with: "sqlit: {")
        let messages = diagnostics(yaml)
        #expect(messages.contains("p.yml:17:9: error: unknown transform step 'explod' (did you mean 'explode'?); steps are explode, select, rename, drop, filter, dedupe, convert_currency, normalize_discounts"))
        #expect(messages.contains("p.yml:7:14: error: 'connections.recorded.dialect' must be one of aurora-xml, aurora-rest, americommerce, found 'aurora-xm' (did you mean 'aurora-xml'?)"))
        #expect(messages.contains { $0.hasPrefix("p.yml:32:3: error: load 'reporting_db' names no format") })
    }

    @Test func yamlSyntaxErrorIsLocated() {
        let messages = diagnostics("version: 1\nname: [unclosed\n")
        #expect(messages.count == 1)
        #expect(messages[0].hasPrefix("p.yml:3:1: error: invalid YAML"))
    }

    @Test func versionMustBeOne() {
        let yaml = examplePipeline.replacingOccurrences(of: "version: 1", with: "version: 2")
        #expect(diagnostics(yaml).contains("p.yml:1:10: error: unsupported pipeline format version 2; this tool reads version 1"))
    }

    @Test func environmentVariablesAreSubstituted() throws {
        let yaml = examplePipeline.replacingOccurrences(of: "out/order-lines.csv", with: "\"${OUT_DIR:-out}/${FEED}.csv\"")
        let pipeline = try loadPipeline(yaml, environment: ["FEED": "lines-2024"])
        guard case .load(_, let load)? = pipeline.stage("lines_csv")?.role else { Issue.record("no load"); return }
        #expect(load.target == "out/lines-2024.csv")

        let unset = diagnostics(yaml)
        #expect(unset == ["p.yml:28:18: error: environment variable FEED is not set (used in 'load.lines_csv.csv.path'; set it or write ${FEED:-default})"])
    }

    @Test func duplicateStageIdsAcrossSections() {
        let yaml = examplePipeline.replacingOccurrences(of: "  lines_csv:", with: "  lines:")
        #expect(diagnostics(yaml).contains { $0.hasPrefix("p.yml:26:3: error: stage id 'lines' is already used at 14:3") })
    }
}

@Suite struct InterpolationTests {
    @Test func expandsVariablesDefaultsAndEscapes() throws {
        let env = ["A": "x", "EMPTY": ""]
        #expect(try Interpolation.expand("${A}-${B:-def}-$$-$5", environment: env).get() == "x-def-$-$5")
        #expect(try Interpolation.expand("${EMPTY:-fallback}", environment: env).get() == "fallback")
        #expect(try Interpolation.expand("${EMPTY}", environment: env).get() == "")
        #expect(try Interpolation.expand("plain", environment: env).get() == "plain")
    }

    @Test func reportsUnsetAndMalformed() {
        #expect(Interpolation.expand("${MISSING}", environment: [:]) == .failure(.unset("MISSING")))
        guard case .failure(.malformed) = Interpolation.expand("${OPEN", environment: [:]) else {
            Issue.record("expected malformed")
            return
        }
        guard case .failure(.malformed) = Interpolation.expand("${bad name}", environment: [:]) else {
            Issue.record("expected malformed")
            return
        }
    }
}

/// Validation knows what each stage receives (from its extract's resource) and what a load does
/// with each run's records, so mistakes that used to fail at run time, or silently shrink an
/// output, are located errors when the file is read.
@Suite struct WhatStagesReceiveTests {
    private func pipeline(extract: String, steps: String = "", load: String = "csv: { path: out/x.csv }",
                          url: String = "demo", token: String = "${AURORA_TOKEN:-demo}") -> String {
        """
        version: 1
        name: p
        connections:
          shop: { type: aurora-xml, url: "\(url)", token: "\(token)" }
        extract:
          src: { connection: shop, \(extract) }
        \(steps.isEmpty ? "" : "transform:\n  t:\n    input: src\n    steps:\n" + steps)
        load:
          out: { input: \(steps.isEmpty ? "src" : "t"), \(load) }
        """
    }

    @Test func stepsThatCannotApplyToTheResourceAreLocated() {
        #expect(diagnostics(pipeline(extract: "resource: products", steps: "      - convert_currency: { to: EUR, rates: { base: EUR, rates: { GBP: 0.85 } } }\n"))
                == ["p.yml:11:9: error: step convert_currency in stage 't' cannot apply to what it receives (aurora-xml products from extract 'src'): products carry no currency of their own: add 'from:' with the currency their prices are in (such as from: GBP)"])
        #expect(diagnostics(pipeline(extract: "resource: products", steps: "      - convert_currency: { to: EUR, from: GBP, rates: { base: EUR, rates: { GBP: 0.85 } } }\n")).isEmpty)
        #expect(diagnostics(pipeline(extract: "resource: products", steps: "      - normalize_discounts: {}\n"))
                == ["p.yml:11:9: error: step normalize_discounts in stage 't' cannot apply to what it receives (aurora-xml products from extract 'src'): normalize_discounts works on orders (their Items and discounts), not products"])
        #expect(diagnostics(pipeline(extract: "resource: orders", steps: "      - explode: { path: Items }\n      - normalize_discounts: {}\n"))
                == ["p.yml:12:9: error: step normalize_discounts in stage 't' cannot apply to what it receives (elements exploded from aurora-xml orders from extract 'src'): normalize_discounts needs whole orders: put it before the explode step"])
        #expect(diagnostics(pipeline(extract: "resource: orders", steps: "      - explode: { path: Items }\n      - convert_currency: { to: GBP }\n"))
                .first?.contains("convert_currency converts whole orders or products: put it before the explode step") == true)
        #expect(diagnostics(pipeline(extract: "resource: orders", steps: "      - normalize_discounts: {}\n      - explode: { path: Items }\n")).isEmpty)
        // After select or rename the fields are the pipeline's own: nothing more is assumed.
        #expect(diagnostics(pipeline(extract: "resource: products", steps: "      - rename: { ProductID: id }\n      - normalize_discounts: {}\n")).isEmpty)
    }

    @Test func anIncrementalExtractCannotReplaceAWholeOutputWithOneRunsChanges() {
        let incremental = "resource: orders, incremental: { field: DateModified }"
        #expect(diagnostics(pipeline(extract: incremental, load: "sqlite: { path: out/r.sqlite, table: orders }"))
                == ["p.yml:9:3: error: load 'out' would replace the earlier runs' output with only the records changed since the last run: extract 'src' is incremental and mode replace rebuilds table orders every run; use mode: append, or mode: upsert with key: [...] to keep the earlier rows"])
        #expect(diagnostics(pipeline(extract: incremental, load: "csv: { path: out/orders.csv }"))
                == ["p.yml:9:3: error: load 'out' would replace the earlier runs' output with only the records changed since the last run: extract 'src' is incremental and its path 'out/orders.csv' names the same file every run; put {run_date} or {run_id} in the path (such as 'out/orders-{run_date}.csv')"])
        #expect(diagnostics(pipeline(extract: incremental, steps: "      - explode: { path: Items }\n", load: "ndjson_gz: { path: out/lines.ndjson.gz }")).count == 1)
        #expect(diagnostics(pipeline(extract: incremental, load: "csv: { path: \"out/orders-{run_date}.csv\" }")).isEmpty)
        #expect(diagnostics(pipeline(extract: incremental, load: "sqlite: { path: out/r.sqlite, table: orders, mode: upsert, key: [OrderID] }")).isEmpty)
        #expect(diagnostics(pipeline(extract: "resource: orders", load: "sqlite: { path: out/r.sqlite, table: orders }")).isEmpty)
    }

    @Test func thePlaceholderTokenIsRefusedForARealStore() {
        let real = "https://shop.example.com/ajax/Ajax_API/processRequestXml"
        #expect(diagnostics(pipeline(extract: "resource: orders", url: real))
                == ["p.yml:4:101: error: 'connections.shop.token' is the placeholder 'demo', which only the built-in demo store takes, but the url is \(real); set AURORA_TOKEN to the store's credential"])
        #expect(diagnostics(pipeline(extract: "resource: orders", url: real), environment: ["AURORA_TOKEN": "real-token"]).isEmpty)
        #expect(diagnostics(pipeline(extract: "resource: orders")).isEmpty)
    }
}
