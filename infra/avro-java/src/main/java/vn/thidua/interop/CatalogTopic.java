package vn.thidua.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads thidua's compacted schema-catalog topic with the Apache Kafka Java consumer: key = the writer
 * schema's CRC-64-AVRO fingerprint as 16 hex digits in single-object header order, value = the schema
 * JSON. The latest value per key wins (a null value is a tombstone). Every key is checked against the
 * fingerprint Avro Java computes for its schema.
 */
final class CatalogTopic {

  private CatalogTopic() {}

  /** Every schema on {@code topic}, read from the beginning to the end offsets, by fingerprint hex. */
  static Map<String, Schema> read(String bootstrap, String topic, Duration timeout) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "thidua-avro-interop");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    Map<String, String> json = new LinkedHashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo info : consumer.partitionsFor(topic, timeout)) {
        partitions.add(new TopicPartition(topic, info.partition()));
      }
      if (partitions.isEmpty()) {
        throw new IllegalStateException("topic " + topic + " does not exist");
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!caughtUp(consumer, end)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("catalog topic " + topic + " not read to its end in time");
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          String key = new String(record.key(), StandardCharsets.UTF_8);
          if (record.value() == null) {
            json.remove(key);
          } else {
            json.put(key, new String(record.value(), StandardCharsets.UTF_8));
          }
        }
      }
    }
    Map<String, Schema> schemas = new LinkedHashMap<>();
    for (Map.Entry<String, String> entry : json.entrySet()) {
      Schema schema = new Schema.Parser().parse(entry.getValue());
      String computed = AvroInterop.fingerprintHex(schema);
      if (!computed.equals(entry.getKey())) {
        throw new IllegalStateException(
            "catalog key " + entry.getKey() + " does not match its schema's fingerprint " + computed);
      }
      schemas.put(entry.getKey(), schema);
    }
    return schemas;
  }

  private static boolean caughtUp(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }
}
