package vn.thidua.interop;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.message.SchemaStore;

/**
 * Command-line probe for Avro single-object encoding interoperability, backed by the official
 * Apache Avro Java library (BinaryMessageEncoder / BinaryMessageDecoder / SchemaNormalization).
 *
 * <p>Wire format (Avro spec, "Single-object encoding"): 0xC3 0x01, then the 8-byte
 * little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then the
 * Avro binary body.
 *
 * <p>Exit codes: 0 ok, 2 usage error, 1 any other failure (message on stderr).
 */
public final class AvroInterop {

  static final int EXIT_OK = 0;
  static final int EXIT_FAILURE = 1;
  static final int EXIT_USAGE = 2;

  static final String USAGE =
      String.join(
          "\n",
          "usage: AvroInterop <command> [options]",
          "",
          "commands:",
          "  fingerprint --schema S.avsc",
          "      line 1: CRC-64-AVRO fingerprint of the Parsing Canonical Form, 16 lowercase hex",
          "              chars, little-endian byte order (= the 8 header bytes after C3 01)",
          "      line 2: the Parsing Canonical Form",
          "  encode --schema S.avsc --json IN.json --out OUT.bin [--plain-json]",
          "      read ONE datum (Avro JSON encoding, unions wrapped as {\"type\": value}; with",
          "      --plain-json: plain JSON, unions unwrapped, branches tried in order) and write",
          "      it single-object encoded (BinaryMessageEncoder)",
          "  decode --schema W1.avsc [--schema W2.avsc ...] [--reader R.avsc] --in IN.bin",
          "         [--avro-json]",
          "      decode single-object bytes whose writer schema is one of the --schema files",
          "      (looked up by fingerprint), resolved to --reader if given, else to the writer",
          "      schema; print the datum as JSON (GenericData.toString, unions unwrapped; with",
          "      --avro-json: Avro JSON encoding via JsonEncoder, unions wrapped)",
          "  kafka-decode --bootstrap HOST:PORT --catalog-topic T --in IN.bin [--avro-json]",
          "      read every schema from thidua's compacted schema-catalog topic T with the Kafka",
          "      Java consumer (key = fingerprint hex, value = schema JSON; keys are verified), then",
          "      decode IN.bin with the writer schema its header names; print as decode does",
          "",
          "options accept both '--opt value' and '--opt=value'; files and stdout are UTF-8.",
          "exit codes: 0 ok, 2 usage error, 1 other failure (message on stderr)");

  /** Thrown for command-line mistakes; maps to exit code 2. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /** Thrown when plain JSON does not fit the schema; maps to exit code 1. */
  static final class PlainJsonException extends RuntimeException {
    PlainJsonException(String message) {
      super(message);
    }
  }

  private AvroInterop() {}

  public static void main(String[] argv) {
    PrintStream out =
        new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    PrintStream err =
        new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
    int code;
    try {
      code = run(argv, out);
    } catch (UsageException e) {
      err.println("error: " + e.getMessage());
      err.println(USAGE);
      code = EXIT_USAGE;
    } catch (MissingSchemaException e) {
      err.println("error: unknown writer schema: " + e.getMessage());
      code = EXIT_FAILURE;
    } catch (BadHeaderException e) {
      err.println("error: not Avro single-object encoding: " + e.getMessage());
      code = EXIT_FAILURE;
    } catch (PlainJsonException e) {
      err.println("error: plain JSON does not fit the schema: " + e.getMessage());
      code = EXIT_FAILURE;
    } catch (Exception | StackOverflowError e) {
      err.println("error: " + describe(e));
      code = EXIT_FAILURE;
    }
    out.flush();
    err.flush();
    System.exit(code);
  }

  /** Exception class and message, followed by the cause chain. */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t != e) {
        sb.append("; caused by: ");
      }
      sb.append(t.getClass().getName());
      if (t.getMessage() != null) {
        sb.append(": ").append(t.getMessage());
      }
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- argument parsing

  /** Parsed "--name value" options; repeated options keep all values in order. */
  static final class Options {
    final Map<String, List<String>> values = new LinkedHashMap<>();
    final Set<String> flags = new LinkedHashSet<>();

    static Options parse(String[] argv, int start, Set<String> valued, Set<String> flagNames)
        throws UsageException {
      Options o = new Options();
      for (int i = start; i < argv.length; i++) {
        String a = argv[i];
        if (!a.startsWith("--")) {
          throw new UsageException("unexpected argument: " + a);
        }
        String name = a.substring(2);
        String value = null;
        int eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
        if (flagNames.contains(name)) {
          if (value != null) {
            throw new UsageException("--" + name + " takes no value");
          }
          o.flags.add(name);
        } else if (valued.contains(name)) {
          if (value == null) {
            if (i + 1 >= argv.length) {
              throw new UsageException("--" + name + " needs a value");
            }
            value = argv[++i];
          }
          o.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        } else {
          throw new UsageException("unknown option: --" + name);
        }
      }
      return o;
    }

    List<String> all(String name) {
      return values.getOrDefault(name, List.of());
    }

    String one(String name, boolean required) throws UsageException {
      List<String> v = all(name);
      if (v.size() > 1) {
        throw new UsageException("--" + name + " given more than once");
      }
      if (v.isEmpty()) {
        if (required) {
          throw new UsageException("missing required option --" + name);
        }
        return null;
      }
      return v.get(0);
    }
  }

  static int run(String[] argv, PrintStream out) throws Exception {
    if (argv.length == 0) {
      throw new UsageException("missing command");
    }
    String cmd = argv[0];
    switch (cmd) {
      case "-h":
      case "--help":
      case "help":
        out.println(USAGE);
        return EXIT_OK;
      case "fingerprint":
        {
          Options o = Options.parse(argv, 1, Set.of("schema"), Set.of());
          Schema s = loadSchema(o.one("schema", true));
          out.println(fingerprintHex(s));
          out.println(SchemaNormalization.toParsingForm(s));
          return EXIT_OK;
        }
      case "encode":
        {
          Options o = Options.parse(argv, 1, Set.of("schema", "json", "out"), Set.of("plain-json"));
          Schema s = loadSchema(o.one("schema", true));
          String json = Files.readString(Path.of(o.one("json", true)), StandardCharsets.UTF_8);
          Path outPath = Path.of(o.one("out", true));
          Object datum =
              o.flags.contains("plain-json") ? fromPlainJson(s, json) : fromAvroJson(s, json);
          BinaryMessageEncoder<Object> enc = new BinaryMessageEncoder<>(GenericData.get(), s);
          ByteBuffer buf = enc.encode(datum);
          byte[] bytes = new byte[buf.remaining()];
          buf.get(bytes);
          Files.write(outPath, bytes);
          return EXIT_OK;
        }
      case "kafka-decode":
        {
          Options o =
              Options.parse(
                  argv, 1, Set.of("bootstrap", "catalog-topic", "in"), Set.of("avro-json"));
          byte[] data = Files.readAllBytes(Path.of(o.one("in", true)));
          List<Schema> writers =
              new ArrayList<>(
                  CatalogTopic.read(
                          o.one("bootstrap", true),
                          o.one("catalog-topic", true),
                          java.time.Duration.ofSeconds(30))
                      .values());
          Object datum = decode(data, writers, null);
          if (o.flags.contains("avro-json")) {
            out.println(toAvroJson(writerFor(data, writers), datum));
          } else {
            out.println(GenericData.get().toString(datum));
          }
          return EXIT_OK;
        }
      case "decode":
        {
          Options o =
              Options.parse(argv, 1, Set.of("schema", "reader", "in"), Set.of("avro-json"));
          List<String> writerPaths = o.all("schema");
          if (writerPaths.isEmpty()) {
            throw new UsageException("missing required option --schema");
          }
          String readerPath = o.one("reader", false);
          byte[] data = Files.readAllBytes(Path.of(o.one("in", true)));
          List<Schema> writers = new ArrayList<>();
          for (String p : writerPaths) {
            writers.add(loadSchema(p));
          }
          Schema reader = readerPath == null ? null : loadSchema(readerPath);
          Object datum = decode(data, writers, reader);
          Schema shown = reader != null ? reader : writerFor(data, writers);
          if (o.flags.contains("avro-json")) {
            out.println(toAvroJson(shown, datum));
          } else {
            out.println(GenericData.get().toString(datum));
          }
          return EXIT_OK;
        }
      default:
        throw new UsageException("unknown command: " + cmd);
    }
  }

  // ---------------------------------------------------------------- schemas & fingerprints

  static Schema loadSchema(String path) throws IOException {
    String text = Files.readString(Path.of(path), StandardCharsets.UTF_8);
    try {
      // a fresh parser per file: every file must be self-contained
      return new Schema.Parser().parse(text);
    } catch (RuntimeException e) {
      throw new IOException("cannot parse schema " + path + ": " + e.getMessage(), e);
    }
  }

  /** The 8 fingerprint bytes exactly as they appear in the single-object header. */
  static byte[] fingerprintBytes(long fp) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(fp).array();
  }

  static String fingerprintHex(Schema s) {
    return hex(fingerprintBytes(SchemaNormalization.parsingFingerprint64(s)));
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length * 2);
    for (byte x : b) {
      sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- decode

  static final int HEADER_LEN = 10;

  static void checkHeader(byte[] data) {
    if (data.length < HEADER_LEN) {
      throw new BadHeaderException(
          "input is " + data.length + " bytes, shorter than the 10-byte header");
    }
    if (data[0] != (byte) 0xC3 || data[1] != (byte) 0x01) {
      throw new BadHeaderException(
          String.format("bad marker %02x %02x (expected c3 01)", data[0] & 0xFF, data[1] & 0xFF));
    }
  }

  static long headerFingerprint(byte[] data) {
    checkHeader(data);
    return ByteBuffer.wrap(data, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  /** The writer schema named by the header, or MissingSchemaException. */
  static Schema writerFor(byte[] data, List<Schema> writers) {
    long fp = headerFingerprint(data);
    for (Schema w : writers) {
      if (SchemaNormalization.parsingFingerprint64(w) == fp) {
        return w;
      }
    }
    StringBuilder known = new StringBuilder();
    for (Schema w : writers) {
      known.append(known.length() == 0 ? "" : ", ").append(fingerprintHex(w));
      known.append(" (").append(w.getFullName()).append(')');
    }
    throw new MissingSchemaException(
        "no --schema has fingerprint "
            + hex(fingerprintBytes(fp))
            + " (header bytes 2..9, little-endian); known: "
            + known);
  }

  static Object decode(byte[] data, List<Schema> writers, Schema reader) throws IOException {
    // Strict: the writer must be one of the --schema files (the Avro decoder would also accept
    // the read schema itself as a writer, which we do not want to hide).
    Schema writer = writerFor(data, writers);
    SchemaStore.Cache store = new SchemaStore.Cache();
    for (Schema w : writers) {
      store.addSchema(w);
    }
    Schema readSchema = reader != null ? reader : writer;
    BinaryMessageDecoder<Object> dec =
        new BinaryMessageDecoder<>(GenericData.get(), readSchema, store);
    ByteArrayInputStream in = new ByteArrayInputStream(data);
    Object datum = dec.decode(in, null); // direct (unbuffered) decoder: `in` is exact afterwards
    if (in.available() != 0) {
      throw new IOException(
          in.available() + " trailing byte(s) after the datum (" + data.length + " bytes total)");
    }
    return datum;
  }

  static String toAvroJson(Schema s, Object datum) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    JsonEncoder enc = EncoderFactory.get().jsonEncoder(s, bos);
    new GenericDatumWriter<Object>(s, GenericData.get()).write(datum, enc);
    enc.flush();
    return bos.toString(StandardCharsets.UTF_8);
  }

  // ---------------------------------------------------------------- encode inputs

  static Object fromAvroJson(Schema s, String json) throws IOException {
    return new GenericDatumReader<Object>(s, s, GenericData.get())
        .read(null, DecoderFactory.get().jsonDecoder(s, json));
  }

  static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // Python json.dumps emits NaN
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  static Object fromPlainJson(Schema s, String json) throws IOException {
    JsonNode node = MAPPER.readTree(json);
    if (node == null || node.isMissingNode()) {
      throw new IOException("empty JSON input");
    }
    Object datum = convert(s, node, "$");
    if (!GenericData.get().validate(s, datum)) {
      throw new PlainJsonException("converted datum does not validate against the schema");
    }
    return datum;
  }

  private static PlainJsonException mismatch(String path, Schema s, JsonNode n) {
    String shown = n.toString();
    if (shown.length() > 80) {
      shown = shown.substring(0, 77) + "...";
    }
    String type = s.getType().getName();
    if (s.getType() == Schema.Type.RECORD
        || s.getType() == Schema.Type.ENUM
        || s.getType() == Schema.Type.FIXED) {
      type += " " + s.getFullName();
    }
    return new PlainJsonException(path + ": expected " + type + ", got " + shown);
  }

  /** Plain JSON (unions unwrapped) to a GenericData datum. Logical types use their base type. */
  static Object convert(Schema s, JsonNode n, String path) {
    switch (s.getType()) {
      case NULL:
        if (n.isNull()) return null;
        throw mismatch(path, s, n);
      case BOOLEAN:
        if (n.isBoolean()) return n.booleanValue();
        throw mismatch(path, s, n);
      case INT: // also date, time-millis
        if (n.isIntegralNumber() && n.canConvertToInt()) return n.intValue();
        throw mismatch(path, s, n);
      case LONG: // also timestamp-millis/-micros/-nanos, local-timestamp-*, time-micros
        if (n.isIntegralNumber() && n.canConvertToLong()) return n.longValue();
        throw mismatch(path, s, n);
      case FLOAT:
        if (n.isNumber()) return n.floatValue();
        throw mismatch(path, s, n);
      case DOUBLE:
        if (n.isNumber()) return n.doubleValue();
        throw mismatch(path, s, n);
      case STRING: // also uuid
        if (n.isTextual()) return n.textValue();
        throw mismatch(path, s, n);
      case BYTES: // Avro JSON convention: code points 0..255 as a string
        if (n.isTextual()) return ByteBuffer.wrap(latin1(n.textValue(), path));
        throw mismatch(path, s, n);
      case FIXED:
        {
          if (!n.isTextual()) throw mismatch(path, s, n);
          byte[] b = latin1(n.textValue(), path);
          if (b.length != s.getFixedSize()) {
            throw new PlainJsonException(
                path + ": fixed " + s.getFullName() + " needs " + s.getFixedSize()
                    + " bytes, got " + b.length);
          }
          return new GenericData.Fixed(s, b);
        }
      case ENUM:
        if (n.isTextual() && s.hasEnumSymbol(n.textValue())) {
          return new GenericData.EnumSymbol(s, n.textValue());
        }
        throw mismatch(path, s, n);
      case ARRAY:
        {
          if (!n.isArray()) throw mismatch(path, s, n);
          GenericData.Array<Object> a = new GenericData.Array<>(n.size(), s);
          for (int i = 0; i < n.size(); i++) {
            a.add(convert(s.getElementType(), n.get(i), path + "[" + i + "]"));
          }
          return a;
        }
      case MAP:
        {
          if (!n.isObject()) throw mismatch(path, s, n);
          Map<String, Object> m = new LinkedHashMap<>();
          for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            m.put(e.getKey(), convert(s.getValueType(), e.getValue(), path + "." + e.getKey()));
          }
          return m;
        }
      case RECORD:
        {
          if (!n.isObject()) throw mismatch(path, s, n);
          GenericData.Record r = new GenericData.Record(s);
          for (Schema.Field f : s.getFields()) {
            JsonNode v = n.get(f.name());
            if (v != null) {
              r.put(f.pos(), convert(f.schema(), v, path + "." + f.name()));
            } else if (f.hasDefaultValue()) {
              r.put(f.pos(), GenericData.get().deepCopy(f.schema(), GenericData.get().getDefaultValue(f)));
            } else {
              throw new PlainJsonException(
                  path + ": record " + s.getFullName() + " is missing field '" + f.name()
                      + "' (no default)");
            }
          }
          for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (s.getField(k) == null) {
              throw new PlainJsonException(
                  path + ": record " + s.getFullName() + " has no field '" + k + "'");
            }
          }
          return r;
        }
      case UNION:
        {
          List<String> tried = new ArrayList<>();
          for (Schema branch : s.getTypes()) {
            try {
              return convert(branch, n, path);
            } catch (PlainJsonException e) {
              tried.add(e.getMessage());
            }
          }
          throw new PlainJsonException(
              path + ": no union branch matches; tried in order: " + String.join(" | ", tried));
        }
      default:
        throw new PlainJsonException(path + ": unsupported schema type " + s.getType());
    }
  }

  private static byte[] latin1(String text, String path) {
    byte[] b = new byte[text.length()];
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c > 0xFF) {
        throw new PlainJsonException(path + ": bytes/fixed string has a char above U+00FF");
      }
      b[i] = (byte) c;
    }
    return b;
  }
}
