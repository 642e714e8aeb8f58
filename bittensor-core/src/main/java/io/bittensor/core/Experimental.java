package io.bittensor.core;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks API that is new and may still change in a minor release: its names, its options and
 * the files it writes can move as its use settles. API without the mark changes only with a
 * CHANGELOG entry, and with an upgrade note where the change breaks callers. For example,
 * {@code @Experimental public final class Learner}.
 *
 * <p>A type so marked marks all of its members. The mark is kept at run time, so tools can
 * list what is experimental; each module's {@code api/*.api} file shows it.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.FIELD,
    ElementType.PACKAGE})
public @interface Experimental {}
