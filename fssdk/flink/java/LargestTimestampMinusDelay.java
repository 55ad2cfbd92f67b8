package org.fssdk.flink;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;

/**
 * The watermark rule of {@code fssdk run}: after every record, the largest timestamp seen minus
 * the delay, emitted at once when it grows (not periodically, and without Flink's minus one).
 *
 * <p>Run at parallelism 1 over the records in input order, it puts each watermark into the
 * stream right after the record that raised it, so every key sees the watermarks between its
 * records that {@code fssdk run} would have sent there.
 */
public final class LargestTimestampMinusDelay implements WatermarkStrategy<Object> {

    private static final long serialVersionUID = 1L;

    private final long delay;

    public LargestTimestampMinusDelay(long delay) {
        if (delay < 0) {
            throw new IllegalArgumentException("the watermark delay must be >= 0, got " + delay);
        }
        this.delay = delay;
    }

    @Override
    public WatermarkGenerator<Object> createWatermarkGenerator(
            WatermarkGeneratorSupplier.Context context) {
        return new Generator(delay);
    }

    private static final class Generator implements WatermarkGenerator<Object> {

        private final long delay;
        private long emitted = Long.MIN_VALUE;

        Generator(long delay) {
            this.delay = delay;
        }

        @Override
        public void onEvent(Object event, long timestamp, WatermarkOutput output) {
            if (timestamp < Long.MIN_VALUE + delay) {
                return;
            }
            long watermark = timestamp - delay;
            if (watermark > emitted) {
                emitted = watermark;
                output.emitWatermark(new Watermark(watermark));
            }
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {}
    }
}
