package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TensorStandardTest {
  private final TensorStandard std = TensorStandard.of(8);

  @Test
  void answersAreBatchBySequenceByOutputDim() {
    Tensor ids = Tensor.ofLongs(new long[6], 2, 3);
    assertArrayEquals(new int[] {2, 3, 8}, std.outputShape(ids));
    assertTrue(std.zeros(ids).hasShape(2, 3, 8));
    assertEquals(Optional.empty(), std.checkOutput(ids, std.zeros(ids)));
  }

  @Test
  void everyModalityAcceptsItsOwnLayout() {
    assertEquals(Optional.empty(), std.checkInput(Modality.TEXT, Tensor.zeros(DType.INT64, 2, 3)));
    assertEquals(Optional.empty(),
        std.checkInput(Modality.IMAGE, Tensor.zeros(DType.UINT8, 2, 1, 3, 4, 4)));
    assertEquals(Optional.empty(),
        std.checkInput(Modality.IMAGE, Tensor.zeros(DType.FLOAT32, 2, 1, 3, 4, 4)));
    assertEquals(Optional.empty(),
        std.checkInput(Modality.SPEECH, Tensor.zeros(DType.FLOAT32, 2, 1, 160)));
    assertEquals(Optional.empty(),
        std.checkInput(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 2, 3, 5)));
  }

  @Test
  void wrongTypeIsABadRequestNamingTheDtypeField() {
    Rejection r = std.checkInput(Modality.TEXT, Tensor.zeros(DType.FLOAT32, 2, 3)).orElseThrow();
    assertEquals(Status.BAD_REQUEST, r.status());
    assertEquals("input.dtype", r.field());
    assertTrue(r.message().contains("FLOAT32"), r.message());
  }

  @Test
  void wrongRankOrEmptyDimensionIsABadShape() {
    Rejection r = std.checkInput(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 6)).orElseThrow();
    assertEquals(Status.BAD_SHAPE, r.status());
    assertEquals("input.shape", r.field());
    r = std.checkInput(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 2, 0, 3)).orElseThrow();
    assertEquals(Status.BAD_SHAPE, r.status());
  }

  @Test
  void nonFiniteInputIsABadRequestNamingTheElement() {
    Tensor x = Tensor.ofFloats(new float[] {0, Float.NaN}, 1, 1, 2);
    Rejection r = std.checkInput(Modality.TENSOR, x).orElseThrow();
    assertEquals(Status.BAD_REQUEST, r.status());
    assertEquals("input.data", r.field());
    assertTrue(r.message().contains("element 1"), r.message());
  }

  @Test
  void answersOfTheWrongShapeOrWithNanAreRefused() {
    Tensor x = Tensor.zeros(DType.FLOAT32, 2, 3, 5);
    Rejection r = std.checkOutput(x, Tensor.zeros(DType.FLOAT32, 2, 3, 7)).orElseThrow();
    assertEquals(Status.BAD_SHAPE, r.status());
    assertTrue(r.message().contains("[2, 3, 8]"), r.message());
    float[] nan = new float[48];
    nan[47] = Float.POSITIVE_INFINITY;
    r = std.checkOutput(x, Tensor.ofFloats(nan, 2, 3, 8)).orElseThrow();
    assertEquals(Status.BAD_RESPONSE, r.status());
    r = std.checkGradient(x, Tensor.ofFloats(nan, 2, 3, 8)).orElseThrow();
    assertEquals(Status.BAD_REQUEST, r.status());
    assertEquals("gradient.data", r.field());
  }

  /**
   * A peer serving another network's outputDim is the common case of a wrong answer; "output
   * must be [1, 1, 4], was [1, 1, 16]" alone read as a fault of the request.
   */
  @Test
  void anAnswerOfAnotherOutputDimSaysWhichSizeTheStandardTakes() {
    Tensor x = Tensor.zeros(DType.UINT8, 1, 1, 3, 2, 2);
    Rejection r = TensorStandard.of(4).checkOutput(x, Tensor.zeros(DType.FLOAT32, 1, 1, 16))
        .orElseThrow();
    assertEquals(Status.BAD_SHAPE, r.status());
    assertEquals("output.shape", r.field());
    assertEquals("output must be [1, 1, 4], was [1, 1, 16]: its outputDim 16 is not the"
        + " standard's 4 (TensorStandard.of(4))", r.message());
    // Another batch or sequence is not about the outputDim.
    r = TensorStandard.of(4).checkOutput(x, Tensor.zeros(DType.FLOAT32, 2, 1, 4)).orElseThrow();
    assertEquals("output must be [1, 1, 4], was [2, 1, 4]", r.message());
  }

  @Test
  void anyOutputDimAcceptsEveryPositiveSize() {
    Tensor x = Tensor.zeros(DType.FLOAT32, 2, 3, 5);
    TensorStandard any = TensorStandard.anyOutputDim();
    assertEquals(Optional.empty(), any.checkOutput(x, Tensor.zeros(DType.FLOAT32, 2, 3, 77)));
    assertTrue(any.checkOutput(x, Tensor.zeros(DType.FLOAT32, 2, 4, 77)).isPresent());
  }
}
